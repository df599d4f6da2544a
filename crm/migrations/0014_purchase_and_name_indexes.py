"""Indexes for the figures users read, built without locking writes (CONCURRENTLY, hence
not atomic), each new one before the one it replaces is dropped:

- the covering index of a customer's transactions gains status, so first and last
  purchase (completed purchases only: kind, status and amount) stay index-only scans in the
  360 view and the customer list;
- sorting the list by name puts generated names after real ones, in both directions."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("crm", "0013_mark_generated_names"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="customer",
            index=models.Index(
                models.F("name_is_generated"),
                models.F("display_name"),
                models.F("id"),
                condition=models.Q(("merged_into__isnull", True)),
                name="customer_live_name_asc",
            ),
        ),
        AddIndexConcurrently(
            model_name="customer",
            index=models.Index(
                models.F("name_is_generated"),
                models.OrderBy(models.F("display_name"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("merged_into__isnull", True)),
                name="customer_live_name_desc",
            ),
        ),
        AddIndexConcurrently(
            model_name="transaction",
            index=models.Index(
                condition=models.Q(("customer__isnull", False)),
                fields=["customer", "business_unit"],
                include=("occurred_at", "amount", "kind", "status", "currency"),
                name="transaction_customer_totals",
            ),
        ),
        RemoveIndexConcurrently(
            model_name="customer",
            name="customer_live_name",
        ),
        RemoveIndexConcurrently(
            model_name="transaction",
            name="transaction_customer_unit",
        ),
    ]
