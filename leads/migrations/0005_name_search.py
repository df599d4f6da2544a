"""A search by a fragment of a lead's name or company, fast at a million leads: the master's
rule (``crm.selectors.names``) on ``name || ' ' || company``:

- one or two characters (王伟) in the stored array of its characters and pairs
  (``crm_name_grams``, the SQL function of crm 0003; pg_trgm needs three), a GIN index;
- three or more by a trigram GIN index on the expression.

Adding the stored column rewrites the leads table (about a minute per million leads, the
table locked): the array is stored rather than indexed as an expression because a list
that walks its own index (a frequent fragment) tests it per row, and computing it there cost
~0.1 ms a row (130 ms for a one-character search at 1,000,000 leads). The indexes are built
without locking writes (CONCURRENTLY, hence not atomic).

Statistics on the pool list's columns together: a pool's waiting leads are one unit's, all
``new`` and unowned; estimated as independent conditions they were ten times too few, and
PostgreSQL then sorted thousands of matches of a common fragment instead of reading the
pool's newest first (415 ms instead of 1 ms)."""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

import crm.models.customers
import leads.models.leads

POOL_STATISTICS = (
    "CREATE STATISTICS IF NOT EXISTS leads_lead_pool_columns (mcv, dependencies) "
    "ON pool_id, business_unit_id, status, owner_id FROM leads_lead"
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0004_routing_rules"),
    ]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="name_grams",
            field=models.GeneratedField(
                db_persist=True,
                expression=crm.models.customers.NameGrams(leads.models.leads.LeadNames()),
                output_field=django.contrib.postgres.fields.ArrayField(
                    base_field=models.TextField(), size=None
                ),
            ),
        ),
        AddIndexConcurrently(
            model_name="lead",
            index=django.contrib.postgres.indexes.GinIndex(
                fastupdate=False, fields=["name_grams"], name="leads_name_grams"
            ),
        ),
        AddIndexConcurrently(
            model_name="lead",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    leads.models.leads.LeadNames(), name="gin_trgm_ops"
                ),
                fastupdate=False,
                name="leads_name_trgm",
            ),
        ),
        migrations.RunSQL(
            [POOL_STATISTICS, "ANALYZE leads_lead"],
            "DROP STATISTICS IF EXISTS leads_lead_pool_columns",
        ),
    ]
