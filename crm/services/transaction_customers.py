"""The customers of a batch of orders: found by their identities, created when nobody knew
them (races with a concurrent import settled), and refunds checked against their originals."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from crm.models import (
    BusinessUnit,
    Customer,
    CustomerKind,
    DuplicateReason,
    Identity,
    TimelineEvent,
)
from crm.services.customers import (
    fallback_name,
    record_duplicate_candidate,
    resolve_customer,
)
from crm.services.transaction_input import (
    IngestResult,
    _Clean,
    _row_error,
)


def _keys(r: _Clean) -> list[tuple[str, str]]:
    return [(i.type, i.value) for i in r.identities]


def _resolve_batch(unit: BusinessUnit, source: str, rows: list[_Clean], part: IngestResult) -> None:
    """Attach a customer id to every row that carries identities, creating the customers
    nobody knew in bulk. Rows whose identities belong to two customers take the careful path
    (``resolve_customer``), which records a duplicate candidate."""
    keyed = [r for r in rows if r.identities]
    part.guests += len(rows) - len(keyed)
    if not keyed:
        return
    # The owners, share-locked (a merge cannot move them meanwhile); a tombstone's identities
    # lead to its survivor.
    owner = _owners({k for r in keyed for k in _keys(r)}, lock=True)
    unknown: list[_Clean] = []
    named: dict[int, str] = {}
    for r in keyed:
        owners = {owner[k] for k in _keys(r) if k in owner}
        if len(owners) == 1:
            r.customer_id = owners.pop()
            if r.attributes.get("display_name"):
                named.setdefault(r.customer_id, r.attributes["display_name"])
        elif not owners:
            unknown.append(r)
        else:
            r.customer_id = resolve_customer(
                identities=r.identities,
                attributes=r.attributes,
                source=source,
                business_unit=unit,
            ).customer.pk
    groups = _connected(unknown)
    if groups:
        _create_customers(unit, source, groups, part)
    # Every identity a row carried belongs to its customer from now on, unless another
    # customer owns it already (that conflict is for staff to review, never overwritten).
    # Sorted, so that two imports insert in the same order and cannot deadlock.
    new = sorted(
        {
            (i.type, i.value): (r.customer_id, i.verified)
            for r in keyed
            for i in r.identities
            if (i.type, i.value) not in owner
        }.items()
    )
    stored = _insert_identities(unit, source, new)
    lost = {key for key, _v in new} - stored
    # A racing import stored one of a new customer's identities first: settle those groups.
    racing = [g for g in groups if any(k in lost for r in g for k in _keys(r))]
    if racing:
        _settle_races(source, racing)
    if named:
        _name_generated(named)


def _insert_identities(
    unit: BusinessUnit, source: str, new: list[tuple[tuple[str, str], tuple[int | None, bool]]]
) -> set[tuple[str, str]]:
    """Insert identities (sorted, so two imports insert in the same order and cannot
    deadlock); one another customer owns already is left alone. The ones stored."""
    if not new:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO crm_identity
                (customer_id, type, value, verified, source, business_unit_id, created_at)
            SELECT c, t, v, f, %s, %s, now()
            FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::boolean[]) AS n(c, t, v, f)
            ON CONFLICT (type, value) DO NOTHING
            RETURNING type, value
            """,
            [
                source,
                unit.pk,
                [customer for _k, (customer, _f) in new],
                [t for (t, _v), _x in new],
                [v for (_t, v), _x in new],
                [verified for _k, (_c, verified) in new],
            ],
        )
        return {(t, v) for t, v in cursor.fetchall()}


def _connected(rows: list[_Clean]) -> list[list[_Clean]]:
    """Rows nobody knew, grouped by shared identities (phone P in one row, P and e-mail E in
    another, E in a third: one customer)."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(key: tuple[str, str]) -> tuple[str, str]:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for r in rows:
        first, *rest = _keys(r)
        for key in rest:
            parent[find(key)] = find(first)
    groups: dict[tuple[str, str], list[_Clean]] = {}
    for r in rows:
        groups.setdefault(find(_keys(r)[0]), []).append(r)
    return list(groups.values())


def _create_customers(
    unit: BusinessUnit, source: str, groups: list[list[_Clean]], part: IngestResult
) -> None:
    def attrs(group: list[_Clean]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for r in group:
            for key, value in r.attributes.items():
                merged.setdefault(key, value)
        return merged

    specs = [(group, attrs(group)) for group in groups]
    created = Customer.objects.bulk_create(
        Customer(
            kind=a.get("kind")
            or (
                CustomerKind.ORGANIZATION
                if any(i.type == "uscc" for r in g for i in r.identities)
                else CustomerKind.PERSON
            ),
            display_name=a.get("display_name")
            or fallback_name([i for r in g for i in r.identities]),
            name_is_generated=not a.get("display_name"),
            **{
                k: v
                for k, v in a.items()
                if k in ("gender", "birthday", "region", "registered_name")
            },
            source=source,
        )
        for g, a in specs
    )
    for customer, (group, _attrs) in zip(created, specs, strict=True):
        for r in group:
            r.customer_id = customer.pk
    part.customers_created += len(created)
    part.created_customer_ids.update(c.pk for c in created)
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            customer=c,
            business_unit=unit,
            type="customer.created",
            summary=_("Customer created from %(source)s") % {"source": source},
            data={"source": source},
        )
        for c in created
    )


def _settle_races(source: str, groups: list[list[_Clean]]) -> None:
    """Another process may have stored one of a new customer's identities between our lookup
    and our insert. The new customer then joins the one that owns it: its rows and the
    identities it did get move there, and it is deleted. Identities of yet another customer
    make a duplicate candidate, as on the careful path."""
    winners = _owners({k for g in groups for r in g for k in _keys(r)})
    for group in groups:
        created = group[0].customer_id
        others = sorted(
            {winners[k] for r in group for k in _keys(r) if winners.get(k) not in (None, created)}
        )
        if not others or created is None:
            continue
        target, *rest = others
        Identity.objects.filter(customer_id=created).update(customer_id=target)
        TimelineEvent.objects.filter(customer_id=created).delete()
        Customer.objects.filter(pk=created).delete()
        for r in group:
            r.customer_id = target
        survivor = Customer.objects.get(pk=target)
        for other in Customer.objects.filter(pk__in=rest):
            record_duplicate_candidate(
                first=survivor,
                second=other,
                reason=DuplicateReason.SHARED_IDENTITY,
                detail=source,
                score=90,
            )


def _name_generated(named: dict[int, str]) -> None:
    """Customers named after a masked identity take the real name a record brings."""
    ids, names = zip(*sorted(named.items()), strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE crm_customer c SET display_name = v.name, name_is_generated = false
            FROM unnest(%s::bigint[], %s::text[]) AS v(id, name)
            WHERE c.id = v.id AND c.name_is_generated
            """,
            [list(ids), list(names)],
        )


_OWNERS_SQL = """
SELECT i.type, i.value, {owner}
FROM crm_identity i
JOIN unnest(%s::text[], %s::text[]) AS w(type, value) ON i.type = w.type AND i.value = w.value
{lock}
"""
_OWNERS_PLAIN = _OWNERS_SQL.format(owner="i.customer_id", lock="")
_OWNERS_LOCKED = _OWNERS_SQL.format(
    owner="coalesce(c.merged_into_id, c.id)",
    lock="JOIN crm_customer c ON c.id = i.customer_id ORDER BY c.id FOR SHARE OF c",
)


def _owners(pairs: set[tuple[str, str]], lock: bool = False) -> dict[tuple[str, str], int]:
    """``(type, value) -> customer id`` for the identities already known, in one query.
    ``lock``: the owning customer rows are share-locked in id order (no deadlock between
    imports) and a tombstone answers with its survivor."""
    if not pairs:
        return {}
    types, values = zip(*pairs, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(_OWNERS_LOCKED if lock else _OWNERS_PLAIN, [list(types), list(values)])
        return {(t, v): c for t, v, c in cursor.fetchall()}


def _check_refunds(
    unit: BusinessUnit, source: str, rows: list[_Clean], part: IngestResult
) -> list[_Clean]:
    """Cancellations that name their original: lock the originals, then refuse a refund in
    another currency or of more than what remains of the order."""
    wanted = sorted({r.row.original_external_id for r in rows if r.row.original_external_id})
    if not wanted:
        return rows
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM crm_transaction WHERE source = %s AND business_unit_id = %s "
            "AND kind = 'purchase' AND external_id = ANY(%s) ORDER BY id FOR UPDATE",
            [source, unit.pk, wanted],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        # A new statement after the locks: it sees refunds committed while we waited.
        cursor.execute(
            """
            SELECT o.external_id, o.currency,
                   o.amount + coalesce((SELECT sum(c.amount) FROM crm_transaction c
                                        WHERE c.original_id = o.id), 0)
            FROM crm_transaction o WHERE o.id = ANY(%s)
            """,
            [ids],
        )
        remaining = {ext: (currency, left) for ext, currency, left in cursor.fetchall()}
    kept = []
    for r in rows:
        known = remaining.get(r.row.original_external_id)
        if known is None:
            kept.append(r)  # original unknown here: stored unlinked
            continue
        currency, left = known
        if r.row.currency != currency:
            part.errors.append(
                _row_error(
                    r.row,
                    "currency",
                    _("The original order %(order)s is in %(currency)s.")
                    % {"order": r.row.original_external_id, "currency": currency},
                )
            )
        elif -r.amount > left:
            part.errors.append(
                _row_error(
                    r.row,
                    "amount",
                    _("Refunds %(amount)s but only %(left)s of order %(order)s remain.")
                    % {"amount": -r.amount, "left": left, "order": r.row.original_external_id},
                )
            )
        else:
            remaining[r.row.original_external_id] = (currency, left + r.amount)
            kept.append(r)
    return kept
