"""Columns that bulk paths (COPY, raw INSERT in imports and the benchmark generator) write
carry their default in the database, not only in Python."""

import pytest
from django.db import connection
from django.db.models import NOT_PROVIDED

from crm.models import Customer, Identity, TimelineEvent, Transaction

BULK_WRITTEN = [Customer, Identity, Transaction, TimelineEvent]


@pytest.mark.parametrize("model", BULK_WRITTEN, ids=lambda m: m.__name__)
def test_every_python_default_has_a_database_default(model):
    missing = [
        f.name
        for f in model._meta.concrete_fields
        if f.default is not NOT_PROVIDED and f.db_default is NOT_PROVIDED and not f.primary_key
    ]
    assert missing == []


@pytest.mark.django_db
def test_a_raw_insert_naming_only_the_required_columns_succeeds(unit_a):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO crm_customer (display_name, updated_at) "
            "VALUES ('原始', now()) RETURNING id"
        )
        (customer_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO crm_identity (customer_id, type, value) "
            "VALUES (%s, 'mobile', '+8613900000001')",
            [customer_id],
        )
        cursor.execute(
            "INSERT INTO crm_transaction (business_unit_id, customer_id, source, external_id, "
            "channel, occurred_at, amount) VALUES (%s, %s, 'raw', 'R1', 'store', now(), 10)",
            [unit_a.pk, customer_id],
        )
    customer = Customer.objects.get(pk=customer_id)
    assert customer.name_is_generated is False and customer.kind == "person"
    order = Transaction.objects.get(source="raw")
    assert (order.kind, order.status, order.currency, order.lines) == (
        "purchase",
        "completed",
        "CNY",
        [],
    )
