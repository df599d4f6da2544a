"""Transaction ingestion: orders from any source, idempotent, in batches.

``ingest_transactions`` takes rows that are already parsed (an import, the demo loader, the
API); each batch of about 1,000 rows costs a handful of statements: one lookup of the
identities it carries, one insert of the customers nobody knew, one of their identities, one
``INSERT ... ON CONFLICT DO NOTHING`` of the transactions (so the same order ingested twice
changes nothing), and one update of the originals that cancellations net against.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.errors import DeadlockDetected
from psycopg.types.json import Jsonb

from crm.errors import DomainError
from crm.models import (
    BusinessUnit,
    Channel,
    Customer,
    CustomerKind,
    DuplicateReason,
    Identity,
    TimelineEvent,
    Transaction,
    TransactionKind,
    TransactionStatus,
)
from crm.normalizers import InvalidIdentity
from crm.services.customers import (
    IdentityInput,
    clean_attributes,
    fallback_name,
    normalize_identities,
    record_duplicate_candidate,
    resolve_customer,
)

BATCH_SIZE = 1000
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
MAX_AMOUNT = Decimal("999999999999.99")


@dataclass
class TransactionInput:
    """One order as a source system sends it. No identities: a guest purchase."""

    external_id: str
    occurred_at: datetime
    amount: Decimal | str | int
    channel: str
    currency: str = "CNY"
    kind: str = TransactionKind.PURCHASE
    original_external_id: str = ""
    identities: list[IdentityInput] = field(default_factory=list)
    customer_attributes: dict[str, Any] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)
    line_number: int | None = None  # where it came from in a file, for error reports


@dataclass(frozen=True)
class RowError:
    line: int | None
    field: str
    reason: str
    external_id: str = ""
    code: str = "invalid_transaction"

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "field": self.field,
            "reason": self.reason,
            "external_id": self.external_id,
        }


@dataclass
class IngestResult:
    received: int = 0
    created: int = 0
    duplicates: int = 0
    guests: int = 0
    customers_created: int = 0
    cancellations_linked: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def add(self, part: IngestResult) -> None:
        """Count a stored batch in (``received`` is counted as rows are read)."""
        self.created += part.created
        self.duplicates += part.duplicates
        self.guests += part.guests
        self.customers_created += part.customers_created
        self.cancellations_linked += part.cancellations_linked
        self.errors += part.errors

    def as_dict(self, max_errors: int = 200) -> dict[str, Any]:
        return {
            "received": self.received,
            "created": self.created,
            "duplicates": self.duplicates,
            "guests": self.guests,
            "customers_created": self.customers_created,
            "cancellations_linked": self.cancellations_linked,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in self.errors[:max_errors]],
        }


@dataclass
class _Clean:
    row: TransactionInput
    amount: Decimal
    identities: list[IdentityInput]
    attributes: dict[str, Any]
    customer_id: int | None = None
    # Once inserted: the new row's id, customer and original (what RETURNING said).
    stored: tuple[int, int | None, int | None] | None = None


class InvalidTransaction(DomainError):
    code = "invalid_transaction"
    status = 422


class IngestBusy(DomainError):
    """A deadlock with a concurrent import inside the caller's transaction: nothing was
    stored; the same request may be sent again."""

    code = "busy"
    status = 409


class ExternalIdTaken(InvalidTransaction):
    """``(source, external_id)`` belongs to another business unit's order (nothing of that
    order is revealed)."""

    code = "external_id_taken"
    status = 409


def _taken_error(row: TransactionInput, source: str) -> RowError:
    return RowError(
        row.line_number,
        "external_id",
        _("This order id is already used by another business unit in %(source)s.")
        % {"source": source},
        str(row.external_id),
        ExternalIdTaken.code,
    )


def validate_transaction(row: TransactionInput) -> _Clean:
    """Check one row; raise ``InvalidTransaction``/``InvalidIdentity`` naming the field."""
    if not row.external_id or len(str(row.external_id).strip()) > 100:
        raise InvalidTransaction(
            _("An order id of 1 to 100 characters is required."), field="external_id"
        )
    row.external_id = str(row.external_id).strip()
    if row.channel not in Channel.values:
        raise InvalidTransaction(
            _("Unknown channel “%(value)s”; use one of %(choices)s.")
            % {"value": row.channel, "choices": ", ".join(Channel.values)},
            field="channel",
        )
    if row.kind not in TransactionKind.values:
        raise InvalidTransaction(_("Kind must be purchase or cancellation."), field="kind")
    if not isinstance(row.occurred_at, datetime) or timezone.is_naive(row.occurred_at):
        raise InvalidTransaction(
            _("A date and time with a time zone is required."), field="occurred_at"
        )
    earliest, latest = order_time_window()
    if row.occurred_at < earliest:
        raise InvalidTransaction(
            _("The order date is before %(date)s.") % {"date": earliest.date().isoformat()},
            field="occurred_at",
        )
    if row.occurred_at > latest:
        raise InvalidTransaction(_("The order date is in the future."), field="occurred_at")
    amount = _amount(row)
    if row.kind == TransactionKind.PURCHASE and amount <= 0:
        raise InvalidTransaction(
            _("A purchase has a positive amount; send a cancellation for money going back."),
            field="amount",
        )
    if row.kind == TransactionKind.CANCELLATION and amount >= 0:
        raise InvalidTransaction(
            _("A cancellation's amount is negative (the money going back)."), field="amount"
        )
    if row.original_external_id and row.kind != TransactionKind.CANCELLATION:
        raise InvalidTransaction(
            _("Only a cancellation names an original order."), field="original_external_id"
        )
    if not isinstance(row.lines, list) or not all(isinstance(x, dict) for x in row.lines):
        raise InvalidTransaction(_("Lines are a list of objects."), field="lines")
    if len(row.lines) > settings.ORDER_MAX_LINES:
        raise InvalidTransaction(
            _("An order has at most %(n)d lines.") % {"n": settings.ORDER_MAX_LINES},
            field="lines",
        )
    row.currency = (row.currency or "").strip().upper()
    if not _CURRENCY.match(row.currency):
        raise InvalidTransaction(
            _("Currency must be a three-letter ISO code such as CNY."), field="currency"
        )
    identities = normalize_identities(row.identities)
    attributes = clean_attributes(row.customer_attributes)
    return _Clean(row=row, amount=amount, identities=identities, attributes=attributes)


# ISO 4217 currencies without minor units; every other one is stored with two decimals
# (the column's scale), so a third decimal (BHD, KWD...) is refused rather than rounded.
ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)


def order_time_window() -> tuple[datetime, datetime]:
    """Orders are dated from ``TRANSACTION_EARLIEST`` to now plus the tolerance."""
    earliest = datetime.fromisoformat(settings.TRANSACTION_EARLIEST)
    if timezone.is_naive(earliest):
        earliest = timezone.make_aware(earliest)
    return earliest, timezone.now() + settings.TRANSACTION_FUTURE_TOLERANCE


def _amount(row: TransactionInput) -> Decimal:
    """The amount, exact: more decimals than the currency has are refused, never rounded."""
    try:
        amount = Decimal(str(row.amount).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidTransaction(
            _("“%(value)s” is not an amount.") % {"value": row.amount}, field="amount"
        ) from exc
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise InvalidTransaction(_("The amount is out of range."), field="amount")
    currency = (row.currency or "").strip().upper()
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise InvalidTransaction(
            _("%(currency)s amounts have at most %(places)d decimals.")
            % {"currency": currency or "CNY", "places": places},
            field="amount",
        )
    return amount.quantize(Decimal("0.01"))


def _batches(rows: Iterable[TransactionInput], size: int) -> Iterator[list[TransactionInput]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def ingest_transactions(
    *,
    business_unit: BusinessUnit,
    source: str,
    rows: Iterable[TransactionInput],
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Validate and store orders. Valid rows are kept when others fail; each failure is
    reported with its line, field and reason. ``dry_run`` validates without writing."""
    source = _checked_source(source)
    result = IngestResult()
    for batch in _batches(rows, batch_size):
        result.received += len(batch)
        clean: list[_Clean] = []
        for row in batch:
            try:
                clean.append(validate_transaction(row))
            except (InvalidTransaction, InvalidIdentity, DomainError) as exc:
                result.errors.append(_row_error(row, exc.field or "", exc.message))
        if not dry_run and clean:
            result.add(_ingest_batch_retrying(business_unit, source, clean))
        if progress:
            progress(result.received)
    result.errors.sort(key=lambda e: (e.line is None, e.line or 0))
    return result


def _checked_source(source: str) -> str:
    source = (source or "").strip().lower()
    if not _SOURCE.match(source):
        raise InvalidTransaction(
            _("A source system is a short lowercase code such as pos or online_mall."),
            field="source",
        )
    return source


def _row_error(row: TransactionInput, field_name: str, reason: str) -> RowError:
    return RowError(row.line_number, field_name, reason, str(row.external_id))


def _ingest_batch_retrying(unit: BusinessUnit, source: str, rows: list[_Clean]) -> IngestResult:
    """One batch in one transaction; a deadlock with a concurrent import is retried. Inside
    the caller's transaction (the API's idempotent request) that transaction is the unit of
    work: no savepoint, and a deadlock fails the request as ``IngestBusy``."""
    if connection.in_atomic_block:
        part = IngestResult()
        try:
            _ingest_batch(unit, source, rows, part)
        except OperationalError as exc:
            if isinstance(exc.__cause__, DeadlockDetected):
                raise IngestBusy(
                    _("A concurrent import held these customers; send the order again.")
                ) from exc
            raise
        return part
    for attempt in range(3):
        part = IngestResult()
        for r in rows:
            r.customer_id = None
        try:
            with transaction.atomic():
                _ingest_batch(unit, source, rows, part)
        except OperationalError as exc:
            if attempt == 2 or not isinstance(exc.__cause__, DeadlockDetected):
                raise
            continue
        return part
    raise AssertionError("unreachable")  # pragma: no cover


def _ingest_batch(unit: BusinessUnit, source: str, rows: list[_Clean], part: IngestResult) -> None:
    rows = _skip_stored(unit, source, rows, part)
    _resolve_batch(unit, source, rows, part)
    purchases = [r for r in rows if r.row.kind == TransactionKind.PURCHASE]
    if purchases:  # originals first: a cancellation in the same batch may need them
        _insert(unit, source, purchases, part)
    cancellations = _check_refunds(
        unit, source, [r for r in rows if r.row.kind == TransactionKind.CANCELLATION], part
    )
    if cancellations:
        _insert(unit, source, cancellations, part)


def _order_units(cursor: Any, source: str, rows: list[_Clean]) -> dict[str, int]:
    """``external_id -> business unit id`` of the rows' order ids already stored."""
    cursor.execute(
        "SELECT external_id, business_unit_id FROM crm_transaction "
        "WHERE source = %s AND external_id = ANY(%s)",
        [source, [r.row.external_id for r in rows]],
    )
    return dict(cursor.fetchall())


def _skip_stored(
    unit: BusinessUnit, source: str, rows: list[_Clean], part: IngestResult
) -> list[_Clean]:
    """Orders stored before change nothing (not even the customer master); an order id that
    another unit already uses is refused, never read or linked across units."""
    with connection.cursor() as cursor:
        stored = _order_units(cursor, source, rows)
    fresh, seen = [], set()
    for r in rows:
        owner_unit = stored.get(r.row.external_id)
        if owner_unit is not None and owner_unit != unit.pk:
            part.errors.append(_taken_error(r.row, source))
        elif owner_unit is not None or r.row.external_id in seen:
            part.duplicates += 1
        else:
            seen.add(r.row.external_id)
            fresh.append(r)
    return fresh


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
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            customer=c,
            business_unit=unit,
            type="customer.created",
            summary=_("Customer created from %(source)s") % {"source": source},
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


_INSERT_SQL = """
WITH rows AS (
    SELECT * FROM unnest(
        %s::text[], %s::bigint[], %s::text[], %s::text[], %s::timestamptz[],
        %s::numeric[], %s::text[], %s::jsonb[], %s::text[]
    ) AS r(external_id, customer_id, channel, kind, occurred_at, amount, currency, lines,
           original_external_id)
), resolved AS (
    SELECT r.*, o.id AS original_id, o.customer_id AS original_customer_id
    FROM rows r
    LEFT JOIN crm_transaction o
      ON r.kind = 'cancellation' AND r.original_external_id <> '' AND o.source = %s
     AND o.business_unit_id = %s AND o.external_id = r.original_external_id
     AND o.kind = 'purchase'
)
INSERT INTO crm_transaction (
    business_unit_id, customer_id, source, external_id, channel, kind, status, original_id,
    occurred_at, amount, currency, lines, ingested_at
)
SELECT %s, coalesce(customer_id, original_customer_id), %s, external_id, channel, kind,
       'completed', original_id, occurred_at, amount, currency, lines, now()
FROM resolved
ON CONFLICT (source, external_id) DO NOTHING
RETURNING external_id, original_id, id, customer_id
"""

_NET_ORIGINALS_SQL = """
UPDATE crm_transaction o
SET status = CASE WHEN o.amount + s.refunded <= 0 THEN 'refunded' ELSE 'partly_refunded' END
FROM (
    SELECT original_id, sum(amount) AS refunded FROM crm_transaction
    WHERE original_id = ANY(%s) GROUP BY original_id
) s
WHERE o.id = s.original_id AND o.business_unit_id = %s
"""


def _insert(unit: BusinessUnit, source: str, rows: list[_Clean], part: IngestResult) -> None:
    # One order for every importer (no deadlock on the unique key), customer first so that
    # the customer indexes are written page by page.
    rows = sorted(rows, key=lambda r: (r.customer_id or 0, r.row.external_id))
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_SQL,
            [
                [r.row.external_id for r in rows],
                [r.customer_id for r in rows],
                [r.row.channel for r in rows],
                [r.row.kind for r in rows],
                [r.row.occurred_at for r in rows],
                [r.amount for r in rows],
                [r.row.currency for r in rows],
                [Jsonb(r.row.lines) for r in rows],
                [(r.row.original_external_id or "").strip() for r in rows],
                source,
                unit.pk,
                unit.pk,
                source,
            ],
        )
        inserted = cursor.fetchall()
        part.created += len(inserted)
        if len(inserted) < len(rows):
            _conflicts(cursor, unit, source, rows, {e for e, *_r in inserted}, part)
        by_id = {r.row.external_id: r for r in rows}
        for external_id, original, pk, customer in inserted:
            by_id[external_id].stored = (pk, customer, original)
        originals = [o for _e, o, *_r in inserted if o is not None]
        part.cancellations_linked += len(originals)
        if originals:
            cursor.execute(_NET_ORIGINALS_SQL, [originals, unit.pk])


def _conflicts(
    cursor: Any,
    unit: BusinessUnit,
    source: str,
    rows: list[_Clean],
    inserted: set[str],
    part: IngestResult,
) -> None:
    """Rows a concurrent import stored first (after our check): the same unit's are
    duplicates; another unit's are refused like any order id that unit holds."""
    lost = [r for r in rows if r.row.external_id not in inserted]
    owners = _order_units(cursor, source, lost)
    for r in lost:
        if owners.get(r.row.external_id, unit.pk) == unit.pk:
            part.duplicates += 1
        else:
            part.errors.append(_taken_error(r.row, source))


def ingest_transaction(
    *, business_unit: BusinessUnit, source: str, row: TransactionInput
) -> tuple[Transaction, bool]:
    """One order (the API's path): the stored transaction and whether it was new."""
    source = _checked_source(source)
    try:
        clean = validate_transaction(row)
    except DomainError as exc:
        raise InvalidTransaction(exc.message, field=exc.field) from exc
    result = _ingest_batch_retrying(business_unit, source, [clean])
    if result.errors:
        error = result.errors[0]
        if error.code == ExternalIdTaken.code:
            raise ExternalIdTaken(error.reason, field=error.field)
        raise InvalidTransaction(error.reason, field=error.field)
    if clean.stored is not None:
        pk, customer, original = clean.stored
        return Transaction(
            id=pk,
            business_unit=business_unit,
            customer_id=customer,
            source=source,
            external_id=row.external_id,
            channel=row.channel,
            kind=row.kind,
            status=TransactionStatus.COMPLETED,
            original_id=original,
            occurred_at=row.occurred_at,
            amount=clean.amount,
            currency=row.currency,
            lines=row.lines,
        ), True
    stored = Transaction.objects.select_related("business_unit").get(
        source=source, external_id=row.external_id, business_unit=business_unit
    )
    return stored, False
