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
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from crm.errors import DomainError
from crm.models import (
    BusinessUnit,
    Channel,
    Customer,
    CustomerKind,
    Identity,
    TimelineEvent,
    Transaction,
    TransactionKind,
)
from crm.normalizers import InvalidIdentity
from crm.services.customers import (
    IdentityInput,
    clean_attributes,
    normalize_identities,
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


class InvalidTransaction(DomainError):
    code = "invalid_transaction"
    status = 422


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
    if row.occurred_at > timezone.now() + timedelta(days=1):
        raise InvalidTransaction(_("The order date is in the future."), field="occurred_at")
    try:
        amount = Decimal(str(row.amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidTransaction(
            _("“%(value)s” is not an amount.") % {"value": row.amount}, field="amount"
        ) from exc
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise InvalidTransaction(_("The amount is out of range."), field="amount")
    if row.kind == TransactionKind.PURCHASE and amount < 0:
        raise InvalidTransaction(
            _("A purchase cannot have a negative amount; send a cancellation instead."),
            field="amount",
        )
    if row.kind == TransactionKind.CANCELLATION and amount > 0:
        raise InvalidTransaction(
            _("A cancellation's amount is negative (the money going back)."), field="amount"
        )
    if row.original_external_id and row.kind != TransactionKind.CANCELLATION:
        raise InvalidTransaction(
            _("Only a cancellation names an original order."), field="original_external_id"
        )
    row.currency = (row.currency or "").strip().upper()
    if not _CURRENCY.match(row.currency):
        raise InvalidTransaction(
            _("Currency must be a three-letter ISO code such as CNY."), field="currency"
        )
    identities = normalize_identities(row.identities)
    attributes = clean_attributes(row.customer_attributes)
    return _Clean(row=row, amount=amount, identities=identities, attributes=attributes)


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
    source = (source or "").strip().lower()
    if not _SOURCE.match(source):
        raise InvalidTransaction(
            _("A source system is a short lowercase code such as pos or online_mall."),
            field="source",
        )
    result = IngestResult()
    for batch in _batches(rows, batch_size):
        result.received += len(batch)
        clean: list[_Clean] = []
        for row in batch:
            try:
                clean.append(validate_transaction(row))
            except (InvalidTransaction, InvalidIdentity, DomainError) as exc:
                result.errors.append(
                    RowError(row.line_number, exc.field or "", exc.message, str(row.external_id))
                )
        if not dry_run and clean:
            with transaction.atomic():
                _ingest_batch(business_unit, source, clean, result)
        if progress:
            progress(result.received)
    return result


def _ingest_batch(
    unit: BusinessUnit, source: str, rows: list[_Clean], result: IngestResult
) -> None:
    _resolve_batch(unit, source, rows, result)
    purchases = [r for r in rows if r.row.kind == TransactionKind.PURCHASE]
    cancellations = [r for r in rows if r.row.kind == TransactionKind.CANCELLATION]
    for group in (purchases, cancellations):  # originals first: a cancellation may need them
        if group:
            _insert(unit, source, group, result)


def _resolve_batch(
    unit: BusinessUnit, source: str, rows: list[_Clean], result: IngestResult
) -> None:
    """Attach a customer id to every row that carries identities, creating customers that
    nobody knew in bulk. Rows whose identities belong to two customers take the careful path
    (``resolve_customer``), which records a duplicate candidate."""
    keyed = [r for r in rows if r.identities]
    result.guests += len(rows) - len(keyed)
    if not keyed:
        return
    pairs = {(i.type, i.value) for r in keyed for i in r.identities}
    owner = _owners(pairs)
    new_groups: dict[tuple[str, str], list[_Clean]] = {}
    for r in keyed:
        owners = {owner[(i.type, i.value)] for i in r.identities if (i.type, i.value) in owner}
        if len(owners) == 1:
            r.customer_id = owners.pop()
        elif not owners:
            first = r.identities[0]
            new_groups.setdefault((first.type, first.value), []).append(r)
        else:
            r.customer_id = resolve_customer(
                identities=r.identities,
                attributes=r.attributes,
                source=source,
                business_unit=unit,
            ).customer.pk
    if new_groups:
        groups = list(new_groups.values())
        created = Customer.objects.bulk_create(
            Customer(
                kind=g[0].attributes.get("kind")
                or (
                    CustomerKind.ORGANIZATION
                    if any(i.type == "uscc" for i in g[0].identities)
                    else CustomerKind.PERSON
                ),
                display_name=g[0].attributes.get("display_name")
                or _("Customer %(id)s") % {"id": g[0].identities[0].value[:60]},
                **{
                    k: v
                    for k, v in g[0].attributes.items()
                    if k in ("gender", "birthday", "region", "registered_name")
                },
                source=source,
            )
            for g in groups
        )
        for customer, group in zip(created, groups, strict=True):
            for r in group:
                r.customer_id = customer.pk
        result.customers_created += len(created)
        TimelineEvent.objects.bulk_create(
            TimelineEvent(
                customer=c,
                business_unit=unit,
                type="customer.created",
                summary=_("Customer created from %(source)s") % {"source": source},
            )
            for c in created
        )
    # Every identity a row carried belongs to its customer from now on, unless another
    # customer owns it already (that conflict is for staff to review, never overwritten).
    Identity.objects.bulk_create(
        [
            Identity(
                customer_id=r.customer_id or 0,  # every keyed row has one by now
                type=i.type,
                value=i.value,
                verified=i.verified,
                source=source,
            )
            for r in keyed
            for i in r.identities
            if (i.type, i.value) not in owner
        ],
        ignore_conflicts=True,
    )
    if new_groups:
        _settle_races(new_groups)


def _settle_races(new_groups: dict[tuple[str, str], list[_Clean]]) -> None:
    """Another process may have created the same customer between our lookup and our insert
    (its identity won the unique constraint). Our copy then has no identity of its own: its
    rows and its other identities go to the winner, and the copy is deleted."""
    winners = _owners(set(new_groups))
    orphans: dict[int, int] = {}
    for key, group in new_groups.items():
        created_id = group[0].customer_id
        winner = winners.get(key)
        if winner is not None and winner != created_id and created_id is not None:
            orphans[created_id] = winner
            for r in group:
                r.customer_id = winner
    for orphan, winner in orphans.items():
        Identity.objects.filter(customer_id=orphan).update(customer_id=winner)
        TimelineEvent.objects.filter(customer_id=orphan).delete()
        Customer.objects.filter(pk=orphan).delete()


def _owners(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """``(type, value) -> customer id`` for the identities already known, in one query."""
    if not pairs:
        return {}
    types, values = zip(*pairs, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.type, i.value, i.customer_id
            FROM crm_identity i
            JOIN unnest(%s::text[], %s::text[]) AS w(type, value)
              ON i.type = w.type AND i.value = w.value
            """,
            [list(types), list(values)],
        )
        return {(t, v): c for t, v, c in cursor.fetchall()}


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
     AND o.external_id = r.original_external_id AND o.kind = 'purchase'
)
INSERT INTO crm_transaction (
    business_unit_id, customer_id, source, external_id, channel, kind, status, original_id,
    occurred_at, amount, currency, lines, ingested_at
)
SELECT %s, coalesce(customer_id, original_customer_id), %s, external_id, channel, kind,
       'completed', original_id, occurred_at, amount, currency, lines, now()
FROM resolved
ON CONFLICT (source, external_id) DO NOTHING
RETURNING original_id
"""

_NET_ORIGINALS_SQL = """
UPDATE crm_transaction o
SET status = CASE WHEN o.amount + s.refunded <= 0 THEN 'refunded' ELSE 'partly_refunded' END
FROM (
    SELECT original_id, sum(amount) AS refunded FROM crm_transaction
    WHERE original_id = ANY(%s) GROUP BY original_id
) s
WHERE o.id = s.original_id
"""


def _insert(unit: BusinessUnit, source: str, rows: list[_Clean], result: IngestResult) -> None:
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
                source,
            ],
        )
        inserted = cursor.fetchall()
        result.created += len(inserted)
        result.duplicates += len(rows) - len(inserted)
        originals = [o for (o,) in inserted if o is not None]
        result.cancellations_linked += len(originals)
        if originals:
            cursor.execute(_NET_ORIGINALS_SQL, [originals])


def ingest_transaction(
    *, business_unit: BusinessUnit, source: str, row: TransactionInput
) -> tuple[Transaction, bool]:
    """One order (the API's path): the stored transaction and whether it was new."""
    result = ingest_transactions(business_unit=business_unit, source=source, rows=[row])
    if result.errors:
        error = result.errors[0]
        raise InvalidTransaction(error.reason, field=error.field)
    stored = Transaction.objects.select_related("customer").get(
        source=source.strip().lower(), external_id=row.external_id
    )
    return stored, result.created == 1
