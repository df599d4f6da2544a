"""Cancellations that arrive before their original: stored unlinked with the order id they
name, and linked when that order is stored (in a later batch, file or push), provided they
do not refund more than it (or in another currency). A cancellation that would is left
unlinked and the original's import warns about it: the ledger keeps what the source sent,
and staff decide."""

from __future__ import annotations

from typing import Any

from crm.models import BusinessUnit
from crm.services.transaction_input import _Clean
from crm.services.transaction_results import IngestResult

NET_ORIGINALS_SQL = """
UPDATE crm_transaction o
SET status = CASE WHEN o.amount + s.refunded <= 0 THEN 'refunded' ELSE 'partly_refunded' END
FROM (
    SELECT original_id, sum(amount) AS refunded FROM crm_transaction
    WHERE original_id = ANY(%s) GROUP BY original_id
) s
WHERE o.id = s.original_id AND o.business_unit_id = %s
"""

_WAITING_SQL = """
SELECT id, original_external_id, amount, currency, occurred_at FROM crm_transaction
WHERE business_unit_id = %s AND source = %s AND kind = 'cancellation' AND original_id IS NULL
  AND original_external_id = ANY(%s)
ORDER BY id FOR UPDATE
"""

_LINK_SQL = """
UPDATE crm_transaction c
SET original_id = v.original, customer_id = coalesce(c.customer_id, v.customer)
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, original, customer)
WHERE c.id = v.id
"""


def link_waiting_cancellations(
    cursor: Any, unit: BusinessUnit, source: str, originals: list[_Clean], part: IngestResult
) -> None:
    """Link the stored cancellations that wait for ``originals`` (purchases just inserted),
    oldest first, while they fit in what the order leaves; net the originals."""
    by_order = {r.row.external_id: r for r in originals if r.stored is not None}
    cursor.execute(_WAITING_SQL, [unit.pk, source, sorted(by_order)])
    waiting = sorted(cursor.fetchall(), key=lambda w: (w[4], w[0]))
    left = {external_id: r.amount for external_id, r in by_order.items()}
    links: list[tuple[int, int, int | None]] = []
    for pk, external_id, amount, currency, _at in waiting:
        original = by_order[external_id]
        if currency != original.row.currency or -amount > left[external_id]:
            part.warnings.add("late_cancellation_refused", original.row.line_number)
            continue
        left[external_id] += amount
        assert original.stored is not None
        original_pk, customer, _o = original.stored
        links.append((pk, original_pk, customer))
        part.linked_late.add(pk)
    if not links:
        return
    cursor.execute(
        _LINK_SQL,
        [[c for c, _o, _u in links], [o for _c, o, _u in links], [u for _c, _o, u in links]],
    )
    part.cancellations_linked += len(links)
    cursor.execute(NET_ORIGINALS_SQL, [sorted({o for _c, o, _u in links}), unit.pk])
