"""Identities stored before provenance existed: attributed to a business unit only when that
is certain (exactly one unit has orders from the identity's source for its customer); the rest
stay empty, which no partner key reads. Batched by id outside one long transaction, so reads
and ingestion go on while it runs on a large table."""

from django.db import migrations

BATCH = 50_000

SQL = """
UPDATE crm_identity i SET business_unit_id = t.unit
FROM (
    SELECT customer_id, source, min(business_unit_id) AS unit
    FROM crm_transaction
    WHERE customer_id = ANY(%s)
    GROUP BY customer_id, source
    HAVING count(DISTINCT business_unit_id) = 1
) t
WHERE i.id BETWEEN %s AND %s AND i.business_unit_id IS NULL
  AND t.customer_id = i.customer_id AND t.source = i.source
"""


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM crm_identity")
        low, high = cursor.fetchone()
    if low is None:
        return
    for start in range(low, high + 1, BATCH):
        end = start + BATCH - 1
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT array_agg(DISTINCT customer_id) FROM crm_identity "
                "WHERE id BETWEEN %s AND %s AND business_unit_id IS NULL",
                [start, end],
            )
            (customers,) = cursor.fetchone()
            if customers:
                cursor.execute(SQL, [customers, start, end])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("crm", "0009_piiaccess_search"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
