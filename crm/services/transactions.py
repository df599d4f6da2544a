"""Transaction ingestion: orders from any source, idempotent, in batches.

``ingest_transactions`` takes rows that are already parsed (an import, the demo loader, the
API); each batch of about 1,000 rows costs a handful of statements: one lookup of the
identities it carries, one insert of the customers nobody knew, one of their identities, one
``INSERT ... ON CONFLICT DO NOTHING`` of the transactions (so the same order ingested twice
changes nothing), and one update of the originals that cancellations net against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from django.db import OperationalError, connection, transaction
from django.utils.translation import gettext as _
from psycopg.errors import DeadlockDetected
from psycopg.types.json import Jsonb

from crm.errors import DomainError
from crm.models import (
    BusinessUnit,
    Transaction,
    TransactionKind,
    TransactionStatus,
)
from crm.registry import notify_transactions_stored
from crm.services.transaction_conflicts import (
    conflict_error,
    difference_from_row,
    differences_from_stored,
    stored_orders,
    warn_overlap,
)
from crm.services.transaction_customers import (
    _check_refunds,
    _resolve_batch,
)
from crm.services.transaction_input import (
    BATCH_SIZE,
    ExternalIdTaken,
    IngestBusy,
    IngestResult,
    InvalidTransaction,
    TransactionInput,
    _checked_source,
    _Clean,
    _taken_error,
    validate_batch,
    validate_transaction,
)
from crm.services.transaction_links import NET_ORIGINALS_SQL, link_waiting_cancellations


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
    reported with its line, field and reason.

    ``dry_run`` runs exactly what a real run would do (the same validation, customers,
    inserts, links, conflicts and warnings) in one transaction that is rolled back at the
    end, so its result is the prediction of the real run on the same data. While it runs it
    holds what it touched (new identities, stored originals) as a real import would."""
    source = _checked_source(source)
    if not dry_run:
        return _ingest(business_unit, source, rows, batch_size, progress)
    with transaction.atomic():
        result = _ingest(business_unit, source, rows, batch_size, progress)
        transaction.set_rollback(True)
    return result


def _ingest(
    unit: BusinessUnit,
    source: str,
    rows: Iterable[TransactionInput],
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> IngestResult:
    result = IngestResult()
    for batch in _batches(rows, batch_size):
        result.received += len(batch)
        clean = validate_batch(batch, result)
        if clean:
            result.add(_ingest_batch_retrying(unit, source, clean, report=True))
        if progress:
            progress(result.received)
    for line in result.waiting.values():  # still waiting at the end: said once
        result.warnings.add("cancellation_waiting", line)
    result.errors.sort(key=lambda e: (e.line is None, e.line or 0))
    return result


def _ingest_batch_retrying(
    unit: BusinessUnit, source: str, rows: list[_Clean], report: bool = False
) -> IngestResult:
    """One batch in one transaction; a deadlock with a concurrent import is retried. Inside
    the caller's transaction (the API's idempotent request) that transaction is the unit of
    work: no savepoint, and a deadlock fails the request as ``IngestBusy``."""
    if connection.in_atomic_block:
        part = IngestResult()
        try:
            _ingest_batch(unit, source, rows, part, report)
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
                _ingest_batch(unit, source, rows, part, report)
        except OperationalError as exc:
            if attempt == 2 or not isinstance(exc.__cause__, DeadlockDetected):
                raise
            continue
        return part
    raise AssertionError("unreachable")  # pragma: no cover


def _ingest_batch(
    unit: BusinessUnit, source: str, rows: list[_Clean], part: IngestResult, report: bool
) -> None:
    """``report`` (a file import): content conflicts and overlaps with other sources are
    looked for; the API's single push answers with the stored order instead."""
    rows = _skip_stored(unit, source, rows, part, compare=report)
    if report:
        warn_overlap(unit, source, rows, part)
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
    unit: BusinessUnit, source: str, rows: list[_Clean], part: IngestResult, compare: bool
) -> list[_Clean]:
    """Orders stored before change nothing (not even the customer master); an order id that
    another unit already uses is refused, never read or linked across units. ``compare``: an
    order id stored (or earlier in the batch) with other content (amount, time, currency,
    kind, customer, lines) is refused as a conflict instead of skipped as a duplicate."""
    with connection.cursor() as cursor:
        if compare:
            stored = stored_orders(cursor, source, rows)
            units = {external_id: s.business_unit_id for external_id, s in stored.items()}
        else:
            units = _order_units(cursor, source, rows)
    differences = (
        differences_from_stored(
            [
                (r, stored[r.row.external_id])
                for r in rows
                if units.get(r.row.external_id) == unit.pk
            ]
        )
        if compare
        else {}
    )
    fresh: list[_Clean] = []
    seen: dict[str, _Clean] = {}
    for r in rows:
        owner_unit = units.get(r.row.external_id)
        if owner_unit is not None and owner_unit != unit.pk:
            part.errors.append(_taken_error(r.row, source))
        elif owner_unit is not None:
            if id(r) in differences:
                part.errors.append(conflict_error(r, differences[id(r)]))
            else:
                part.duplicates += 1
        elif r.row.external_id in seen:
            earlier = seen[r.row.external_id]
            difference = difference_from_row(r, earlier) if compare else None
            if difference is not None:
                part.errors.append(conflict_error(r, difference))
            else:
                part.duplicates += 1
        else:
            seen[r.row.external_id] = r
            fresh.append(r)
    return fresh


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
    original_external_id, occurred_at, amount, currency, lines, ingested_at
)
SELECT %s, coalesce(customer_id, original_customer_id), %s, external_id, channel, kind,
       'completed', original_id, CASE WHEN kind = 'cancellation' THEN original_external_id
       ELSE '' END, occurred_at, amount, currency, lines, now()
FROM resolved
ON CONFLICT (source, external_id) DO NOTHING
RETURNING external_id, original_id, id, customer_id,
    kind = 'purchase' AND EXISTS (
        SELECT 1 FROM crm_transaction w
        WHERE w.source = crm_transaction.source AND w.kind = 'cancellation'
          AND w.original_id IS NULL AND w.original_external_id = crm_transaction.external_id
          AND w.original_external_id <> ''
    )
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
        awaited: list[_Clean] = []
        for external_id, original, pk, customer, waited_for in inserted:
            row = by_id[external_id]
            row.stored = (pk, customer, original)
            part.lines += len(row.row.lines)
            if row.row.kind == TransactionKind.CANCELLATION:
                part.cancellations += 1
                if original is None and row.row.original_external_id:
                    part.waiting[pk] = row.row.line_number
            if customer is not None:
                part.matched_customer_ids.add(customer)
            if waited_for:
                awaited.append(row)
        known = [pk for _e, _o, pk, customer, _w in inserted if customer is not None]
        if known:  # apps react after the commit (a dry run rolls back: nothing is told)
            transaction.on_commit(lambda: notify_transactions_stored(known))
        originals = [o for _e, o, *_r in inserted if o is not None]
        part.cancellations_linked += len(originals)
        if originals:
            cursor.execute(NET_ORIGINALS_SQL, [originals, unit.pk])
        if awaited:
            link_waiting_cancellations(cursor, unit, source, awaited, part)


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
