"""The bulk path's writes: consecutive plain batches stored set-based (customers, identities,
names, orders by COPY through a staging table) with the service path's counts and warnings,
each in its batch's result (see ``crm.services.transaction_bulk``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from psycopg.types.json import Jsonb

from crm.models import BusinessUnit, TransactionKind
from crm.registry import notify_transactions_stored
from crm.services.transaction_bulk_plan import Key, _Plan
from crm.services.transaction_customers import (
    _create_customers,
    _insert_identities,
    _name_generated,
)
from crm.services.transaction_input import IngestResult, _Clean


class _RaceLost(Exception):
    """A concurrent import stored one of the chunk's identities or orders first."""


_SAME_PURCHASE_SQL = """
SELECT DISTINCT w.n, t.source
FROM unnest(%s::int[], %s::bigint[], %s::timestamptz[], %s::numeric[])
     AS w(n, customer_id, at, amount)
JOIN crm_transaction t ON t.customer_id = w.customer_id AND t.occurred_at = w.at
     AND t.amount = w.amount
WHERE t.business_unit_id = %s AND t.source <> %s
"""
_STAGING_SQL = """
CREATE TEMP TABLE IF NOT EXISTS crm_bulk_order (
    external_id text, customer_id bigint, channel text, kind text, occurred_at timestamptz,
    amount numeric, currency text, lines jsonb
) ON COMMIT DELETE ROWS
"""
_COPY_SQL = (
    "COPY crm_bulk_order (external_id, customer_id, channel, kind, occurred_at, amount, "
    "currency, lines) FROM STDIN"
)
# Purchases before cancellations, each in (customer, order id) order like the service's.
_INSERT_SQL = """
INSERT INTO crm_transaction (
    business_unit_id, customer_id, source, external_id, channel, kind, status, original_id,
    original_external_id, occurred_at, amount, currency, lines, ingested_at
)
SELECT %s, customer_id, %s, external_id, channel, kind, 'completed', NULL, '', occurred_at,
       amount, currency, lines, now()
FROM crm_bulk_order
ORDER BY kind <> 'purchase', customer_id NULLS FIRST, external_id
ON CONFLICT (source, external_id) DO NOTHING
RETURNING id, customer_id
"""


def _flush(
    cursor: Any,
    unit: BusinessUnit,
    source: str,
    plan: _Plan,
    parts: list[IngestResult],
    other: dict[str, str],
) -> None:
    """Write the planned batches set-based; each batch's counts and warnings in its part."""
    if not plan.batches:
        return
    _warn_overlap(cursor, unit, source, plan, parts, other)
    real = _create(unit, source, plan, parts)
    for _index, batch in plan.batches:
        for r in batch:
            if r.customer_id is not None and r.customer_id < 0:
                r.customer_id = real[r.customer_id]
    new: list[tuple[Key, tuple[int | None, bool]]] = sorted(
        (key, (real.get(customer, customer), verified))
        for key, (customer, verified) in plan.identities.items()
    )
    if len(_insert_identities(unit, source, new)) < len(new):
        raise _RaceLost
    named = {real.get(c, c): name for c, name in plan.named.items()}
    if named:
        _name_generated(named)
    rows = [r for _index, batch in plan.batches for r in batch]
    if rows:
        cursor.execute(_STAGING_SQL)
        cursor.execute("TRUNCATE crm_bulk_order")
        with cursor.cursor.copy(_COPY_SQL) as copy:
            for r in rows:
                copy.write_row(
                    (
                        r.row.external_id,
                        r.customer_id,
                        r.row.channel,
                        r.row.kind,
                        r.row.occurred_at,
                        r.amount,
                        r.row.currency,
                        Jsonb(r.row.lines),
                    )
                )
        cursor.execute(_INSERT_SQL, [unit.pk, source])
        inserted = cursor.fetchall()
        if len(inserted) < len(rows):
            raise _RaceLost
        # Apps react after the commit, as on the service path (``ingest_transactions``): the
        # loyalty programme earns. A chunk rolled back (a race lost, a dry run) tells nobody.
        known = [pk for pk, customer in inserted if customer is not None]
        if known:
            transaction.on_commit(lambda: notify_transactions_stored(known))
    for index, batch in plan.batches:
        part = parts[index]
        for r in batch:
            part.created += 1
            part.lines += len(r.row.lines)
            if r.row.kind == TransactionKind.CANCELLATION:
                part.cancellations += 1
            if r.customer_id is not None:
                part.matched_customer_ids.add(r.customer_id)
            else:
                part.guests += 1
    plan.batches = []


def _create(
    unit: BusinessUnit, source: str, plan: _Plan, parts: list[IngestResult]
) -> dict[int, int]:
    """The customers of the planned groups (one insert); ``placeholder -> id``."""
    if not plan.groups:
        return {}
    scratch = IngestResult()
    _create_customers(unit, source, [group for _i, _p, group in plan.groups], scratch)
    real: dict[int, int] = {}
    for index, placeholder, group in plan.groups:
        customer = group[0].customer_id
        assert customer is not None
        real[placeholder] = customer
        parts[index].customers_created += 1
        parts[index].created_customer_ids.add(customer)
    return real


def _warn_overlap(
    cursor: Any,
    unit: BusinessUnit,
    source: str,
    plan: _Plan,
    parts: list[IngestResult],
    other: dict[str, str],
) -> None:
    """``warn_overlap`` of every planned batch in one query, each warning in its batch."""
    asked: list[tuple[int, int, _Clean]] = []
    for _index, batch in plan.batches:
        for r in batch:
            if r.row.external_id not in other:
                asked += [(len(asked), c, r) for c in sorted(plan.candidates.get(id(r), ()))]
    matched: dict[int, str] = {}
    if asked:
        cursor.execute(
            _SAME_PURCHASE_SQL,
            [
                [n for n, _c, _r in asked],
                [c for _n, c, _r in asked],
                [r.row.occurred_at for _n, _c, r in asked],
                [r.amount for _n, _c, r in asked],
                unit.pk,
                source,
            ],
        )
        by_row = {n: id(r) for n, _c, r in asked}
        for n, other_source in cursor.fetchall():
            matched.setdefault(by_row[n], other_source)
    for index, batch in plan.batches:
        warnings = parts[index].warnings
        for r in batch:
            if r.row.external_id in other:
                warnings.add("other_source", r.row.line_number, sources=other[r.row.external_id])
        for r in batch:
            if id(r) in matched:
                warnings.add("same_purchase", r.row.line_number, sources=matched[id(r)])
