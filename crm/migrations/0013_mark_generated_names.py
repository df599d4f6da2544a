"""Customers named before ``name_is_generated`` existed (or by the demo) after one of their
identities, masked (``138****8000``) or spelt out from an external id (``Online Retail
12347`` for ``online_retail:12347``), are marked as having no real name: the screens show a
placeholder and sort them after real names. Batched by id outside one long transaction, like
0010, so reads and ingestion go on while it runs on a large table."""

from django.db import migrations

BATCH = 50_000

CANDIDATES = """
SELECT c.id, c.display_name, array_agg(i.type), array_agg(i.value)
FROM crm_customer c JOIN crm_identity i ON i.customer_id = c.id
WHERE c.id BETWEEN %s AND %s AND NOT c.name_is_generated
GROUP BY c.id, c.display_name
"""


def generated_names(type_: str, value: str) -> set[str]:
    """The names ingestion (``fallback_name``) or the demo gave a customer known only by
    this identity."""
    from crm.normalizers import mask_identity

    names = {mask_identity(type_, value)[:200]}
    source, sep, ident = value.partition(":")
    if type_ == "external" and sep:
        names.add(f"{source.replace('_', ' ').title()} {ident}"[:200])
    return names


def mark(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM crm_customer")
        low, high = cursor.fetchone()
    if low is None:
        return
    for start in range(low, high + 1, BATCH):
        with connection.cursor() as cursor:
            cursor.execute(CANDIDATES, [start, start + BATCH - 1])
            ids = [
                pk
                for pk, name, types, values in cursor.fetchall()
                if any(name in generated_names(t, v) for t, v in zip(types, values, strict=True))
            ]
            if ids:
                cursor.execute(
                    "UPDATE crm_customer SET name_is_generated = true WHERE id = ANY(%s)", [ids]
                )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("crm", "0012_source_systems_and_customer_notes"),
    ]

    operations = [migrations.RunPython(mark, migrations.RunPython.noop, elidable=True)]
