"""The bulk path's plan: which batches of a chunk are plain, and what the service path would
decide for their customers, replayed against one lookup of the chunk's identities (see
``crm.services.transaction_bulk``)."""

from __future__ import annotations

from typing import Any

from crm.models import TransactionKind
from crm.services.transaction_conflicts import (
    StoredOrder,
    conflict_error,
    differences_from_stored,
)
from crm.services.transaction_customers import _connected, _keys
from crm.services.transaction_input import IngestResult, _Clean, _taken_error

Key = tuple[str, str]


_OWNERS_SQL = """
SELECT i.type, i.value, i.customer_id, coalesce(c.merged_into_id, c.id)
FROM crm_identity i
JOIN unnest(%s::text[], %s::text[]) AS w(type, value) ON i.type = w.type AND i.value = w.value
JOIN crm_customer c ON c.id = i.customer_id
"""
_LOCKED = " ORDER BY c.id FOR SHARE OF c"  # in id order: no deadlock between imports


class _Owners:
    """Who owns each identity, as the service path would find it at the start of a batch:
    ``live`` (a tombstone's survivor; what customers are resolved with) and ``stored`` (the
    identity's own row; what the overlap warning joins on). New customers are negative
    placeholders until they are created. ``lock``: the owners are share-locked until the
    chunk is stored (a merge cannot move them meanwhile)."""

    def __init__(self, cursor: Any, keys: set[Key], lock: bool = True) -> None:
        self.live: dict[Key, int] = {}
        self.stored: dict[Key, int] = {}
        if not keys:
            return
        types, values = zip(*keys, strict=True)
        sql = _OWNERS_SQL + _LOCKED if lock else _OWNERS_SQL
        cursor.execute(sql, [list(types), list(values)])
        for type_, value, customer, live in cursor.fetchall():
            self.live[(type_, value)] = live
            self.stored[(type_, value)] = customer


class _Plan:
    """What the service path would do with the consecutive plain batches of a chunk."""

    def __init__(self) -> None:
        self.batches: list[tuple[int, list[_Clean]]] = []
        self.groups: list[tuple[int, int, list[_Clean]]] = []  # (batch, placeholder, rows)
        self.identities: dict[Key, tuple[int, bool]] = {}
        self.named: dict[int, str] = {}
        self.candidates: dict[int, set[int]] = {}  # id(row) -> stored owners of its identities
        self.next_placeholder = -1


def _is_plain(
    batch: list[_Clean], taken: set[str], awaited: set[str], stored: dict[str, StoredOrder]
) -> bool:
    for r in batch:
        if r.row.external_id in stored:
            continue  # a duplicate or a conflict, whatever it is
        if r.row.external_id in taken:
            return False
        if r.row.kind == TransactionKind.CANCELLATION:
            if r.row.original_external_id:
                return False
        elif r.row.external_id in awaited:
            return False
    return True


def _plan_batch(
    index: int,
    batch: list[_Clean],
    owners: _Owners,
    plan: _Plan,
    stored: dict[str, StoredOrder],
    unit_id: int,
    source: str,
    part: IngestResult,
) -> bool:
    """Replay ``_skip_stored`` and ``_resolve_batch`` for a plain batch; ``False`` (nothing
    planned) when a row's identities belong to two customers (the service path records a
    duplicate candidate). Orders stored before are duplicates or conflicts, said in ``part``
    at once (they change nothing else)."""
    old = [r for r in batch if r.row.external_id in stored]
    batch = [r for r in batch if r.row.external_id not in stored]
    keyed = [r for r in batch if r.identities]
    live = owners.live
    for r in keyed:
        if len({live[k] for k in _keys(r) if k in live}) > 1:
            return False
    mine = [(r, stored[r.row.external_id]) for r in old]
    ours = [(r, s) for r, s in mine if s.business_unit_id == unit_id]
    differences = differences_from_stored(ours, owners=owners.stored) if ours else {}
    for r, s in mine:
        if s.business_unit_id != unit_id:
            part.errors.append(_taken_error(r.row, source))
        elif id(r) in differences:
            part.errors.append(conflict_error(r, differences[id(r)]))
        else:
            part.duplicates += 1
    named: dict[int, str] = {}
    unknown: list[_Clean] = []
    for r in keyed:
        found = {live[k] for k in _keys(r) if k in live}
        if found:
            r.customer_id = found.pop()
            if r.attributes.get("display_name"):
                named.setdefault(r.customer_id, r.attributes["display_name"])
        else:
            unknown.append(r)
        plan.candidates[id(r)] = {
            owners.stored[k] for k in _keys(r) if owners.stored.get(k, -1) > 0
        }
    for group in _connected(unknown):
        placeholder = plan.next_placeholder
        plan.next_placeholder -= 1
        for r in group:
            r.customer_id = placeholder
        plan.groups.append((index, placeholder, group))
    new = {
        (i.type, i.value): (r.customer_id, i.verified)
        for r in keyed
        for i in r.identities
        if (i.type, i.value) not in live
    }
    for key, (customer, verified) in new.items():
        assert customer is not None
        plan.identities[key] = (customer, verified)
        live[key] = owners.stored[key] = customer
    for customer, name in named.items():
        plan.named.setdefault(customer, name)
    plan.batches.append((index, batch))
    return True
