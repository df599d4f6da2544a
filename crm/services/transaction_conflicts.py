"""An order id that is already stored: the same order again (a duplicate, skipped) or another
order under the same id (refused, saying what differs). And orders that look stored already
under another source: the same order ids, or the same customer, time and amount (warned)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import BusinessUnit, TransactionKind
from crm.services.transaction_customers import _keys, _owners
from crm.services.transaction_input import _Clean
from crm.services.transaction_results import IngestResult, RowError

ORDER_CONFLICT = "order_conflict"

_WHAT = {
    "amount": gettext_lazy("amount"),
    "occurred_at": gettext_lazy("time"),
    "currency": gettext_lazy("currency"),
    "kind": gettext_lazy("kind"),
    "customer": gettext_lazy("customer"),
    "lines": gettext_lazy("order lines"),
}


@dataclass
class StoredOrder:
    business_unit_id: int
    amount: Decimal
    occurred_at: datetime
    currency: str
    kind: str
    customer_id: int | None
    lines: Any


_STORED_SQL = """
SELECT t.external_id, t.business_unit_id, t.amount, t.occurred_at, t.currency, t.kind,
       coalesce(c.merged_into_id, t.customer_id), t.lines
FROM crm_transaction t LEFT JOIN crm_customer c ON c.id = t.customer_id
WHERE t.source = %s AND t.external_id = ANY(%s)
"""


def stored_orders(cursor: Any, source: str, rows: list[_Clean]) -> dict[str, StoredOrder]:
    """The rows' order ids already stored under ``source``, with what they hold."""
    cursor.execute(_STORED_SQL, [source, [r.row.external_id for r in rows]])
    return {
        external_id: StoredOrder(unit, amount, at, currency, kind, customer, _json(lines))
        for external_id, unit, amount, at, currency, kind, customer, lines in cursor.fetchall()
    }


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _canonical(lines: Any) -> str:
    return json.dumps(lines, sort_keys=True, ensure_ascii=False, default=str)


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def differences_from_stored(
    rows: list[tuple[_Clean, StoredOrder]],
    owners: dict[tuple[str, str], int] | None = None,
) -> dict[int, tuple[str, str, str]]:
    """``id(row) -> (field, stored, here)`` for rows whose stored order differs (first
    difference found); one query for the owners of their identities unless ``owners`` (their
    ``(type, value) -> customer id``) is given."""
    if owners is None:
        owners = _owners({k for r, _s in rows for k in _keys(r)})
    found: dict[int, tuple[str, str, str]] = {}
    for r, stored in rows:
        checks: list[tuple[str, Any, Any]] = [
            ("amount", stored.amount, r.amount),
            ("occurred_at", stored.occurred_at, r.row.occurred_at),
            ("currency", stored.currency, r.row.currency),
            ("kind", stored.kind, r.row.kind),
        ]
        for name, before, now in checks:
            if before != now:
                found[id(r)] = (name, _shown(before), _shown(now))
                break
        else:
            if not _same_customer(r, stored.customer_id, owners):
                found[id(r)] = ("customer", "", "")
            elif r.row.lines and _canonical(r.row.lines) != _canonical(stored.lines or []):
                found[id(r)] = ("lines", str(len(stored.lines or [])), str(len(r.row.lines)))
    return found


def _same_customer(r: _Clean, stored: int | None, owners: dict[tuple[str, str], int]) -> bool:
    keys = _keys(r)
    if not keys:  # a cancellation without identities takes its original's customer
        return stored is None or r.row.kind == TransactionKind.CANCELLATION
    return stored is not None and stored in {owners.get(k) for k in keys}


def difference_from_row(r: _Clean, first: _Clean) -> tuple[str, str, str] | None:
    """How a row differs from an earlier row of the same order id in the same batch."""
    checks: list[tuple[str, Any, Any]] = [
        ("amount", first.amount, r.amount),
        ("occurred_at", first.row.occurred_at, r.row.occurred_at),
        ("currency", first.row.currency, r.row.currency),
        ("kind", first.row.kind, r.row.kind),
    ]
    for name, before, now in checks:
        if before != now:
            return name, _shown(before), _shown(now)
    mine, theirs = set(_keys(r)), set(_keys(first))
    if (mine or theirs) and not mine & theirs:
        return "customer", "", ""
    if r.row.lines and _canonical(r.row.lines) != _canonical(first.row.lines):
        return "lines", str(len(first.row.lines)), str(len(r.row.lines))
    return None


def conflict_error(r: _Clean, difference: tuple[str, str, str]) -> RowError:
    name, before, now = difference
    params = {"order": r.row.external_id, "what": _WHAT[name], "stored": before, "here": now}
    if name == "customer":
        reason = (
            _(
                "Order %(order)s is already stored for another customer; an order id names "
                "one order. Correct the file or use another order id."
            )
            % params
        )
    elif name == "lines":
        reason = (
            _(
                "Order %(order)s is already stored with other order lines (%(stored)s lines "
                "stored, %(here)s here). Correct the file or use another order id."
            )
            % params
        )
    else:
        reason = (
            _(
                "Order %(order)s is already stored with a different %(what)s (stored: "
                "%(stored)s; here: %(here)s). Correct the file or use another order id."
            )
            % params
        )
    field = {"customer": "customer_external_id", "lines": "lines"}.get(name, name)
    return RowError(r.row.line_number, field, reason, str(r.row.external_id), ORDER_CONFLICT)


# --- The same orders under another source --------------------------------------------------

_OTHER_SOURCE_SQL = """
SELECT external_id, source FROM crm_transaction
WHERE business_unit_id = %s AND source <> %s AND external_id = ANY(%s)
"""

_SAME_PURCHASE_SQL = """
SELECT DISTINCT w.n, t.source
FROM unnest(%s::int[], %s::text[], %s::text[], %s::timestamptz[], %s::numeric[])
     AS w(n, type, value, at, amount)
JOIN crm_identity i ON i.type = w.type AND i.value = w.value
JOIN crm_transaction t ON t.customer_id = i.customer_id AND t.occurred_at = w.at
     AND t.amount = w.amount
WHERE t.business_unit_id = %s AND t.source <> %s
"""


def warn_overlap(unit: BusinessUnit, source: str, rows: list[_Clean], part: IngestResult) -> None:
    """Warn about rows that look stored already under another source of this unit: the same
    order id, or else the same customer (by identity), time and amount."""
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(_OTHER_SOURCE_SQL, [unit.pk, source, [r.row.external_id for r in rows]])
        other: dict[str, str] = {}
        for external_id, other_source in cursor.fetchall():
            other.setdefault(external_id, other_source)
        for r in rows:
            if r.row.external_id in other:
                part.warnings.add(
                    "other_source", r.row.line_number, sources=other[r.row.external_id]
                )
        rest = [(n, r) for n, r in enumerate(rows) if r.row.external_id not in other]
        keyed = [(n, r, k) for n, r in rest for k in _keys(r)]
        if not keyed:
            return
        cursor.execute(
            _SAME_PURCHASE_SQL,
            [
                [n for n, _r, _k in keyed],
                [k[0] for _n, _r, k in keyed],
                [k[1] for _n, _r, k in keyed],
                [r.row.occurred_at for _n, r, _k in keyed],
                [r.amount for _n, r, _k in keyed],
                unit.pk,
                source,
            ],
        )
        matched: dict[int, str] = {}
        for n, other_source in cursor.fetchall():
            matched.setdefault(n, other_source)
    for n in sorted(matched):
        part.warnings.add("same_purchase", rows[n].row.line_number, sources=matched[n])
