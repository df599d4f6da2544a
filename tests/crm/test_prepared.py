"""``crm.prepared``: the hot paths' statements prepared once per connection, or not at all
when ``PREPARED_STATEMENTS`` is off (a transaction-pooling proxy)."""

from __future__ import annotations

import pytest
from django.db import connection

from crm.prepared import prepared_cursor

pytestmark = pytest.mark.django_db


def _statement(probe: str) -> str:
    return f"SELECT %(n)s::int + 1 AS {probe}"


def _prepared_here(probe: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall() if probe in row[0]]


def test_a_statement_is_prepared_once_and_reused(django_assert_num_queries) -> None:
    with django_assert_num_queries(3) as captured:
        for n in (1, 2, 3):
            with prepared_cursor() as cursor:
                cursor.execute(_statement("probe_reused"), {"n": n})
                assert cursor.fetchone() == (n + 1,)
    assert len(_prepared_here("probe_reused")) == 1  # one server-side statement for the three runs
    assert all("probe_reused" in q["sql"] for q in captured.captured_queries)  # logged


def test_turned_off_nothing_is_prepared(settings) -> None:
    settings.PREPARED_STATEMENTS = False
    with prepared_cursor() as cursor:
        cursor.execute(_statement("probe_off"), {"n": 41})
        assert cursor.fetchone() == (42,)
    assert _prepared_here("probe_off") == []


def test_other_cursors_are_never_prepared() -> None:
    for n in range(8):
        with connection.cursor() as cursor:
            cursor.execute(_statement("probe_django"), {"n": n})
    assert _prepared_here("probe_django") == []


def test_the_dumpers_registered_by_name_are_resolved_before_any_binding() -> None:
    """psycopg swaps a dumper registered by its type's name for the type on first use, in a
    dictionary the connections share; threads binding for the first time at once raced
    there. ``warm_dumpers`` resolves them once, under a lock."""
    from decimal import Decimal

    from psycopg.adapt import AdaptersMap, PyFormat
    from psycopg.types.numeric import DecimalDumper

    from crm.prepared import warm_dumpers

    adapters = AdaptersMap()
    adapters.register_dumper("decimal.Decimal", DecimalDumper)  # by name, as psycopg does
    assert "decimal.Decimal" in adapters._dumpers[PyFormat.AUTO]
    warm_dumpers(adapters)
    assert "decimal.Decimal" not in adapters._dumpers[PyFormat.AUTO]
    assert Decimal in adapters._dumpers[PyFormat.AUTO]
