"""Bulk ingestion of a file's orders: the same results as ``ingest_transactions``, with a
handful of statements per chunk of ~20,000 orders instead of ten per batch of 1,000.

Why it is built this way:

- Rows are parsed, grouped and validated once, in Python, by the very code the service path
  uses (``validate_transaction``); SQL never parses a cell a second time.
- The result must equal the service path's on the same rows, and the service path decides
  batch by batch (customers of new identities are connected groups *within a batch*; a row
  whose identities belong to customers made in two earlier batches is a duplicate candidate).
  So the chunk keeps the service's batches: their decisions about customers are replayed in
  Python against one lookup of every identity the chunk carries (share-locked, tombstones
  leading to survivors), new customers standing in as placeholders until they are created.
- A batch is "plain" when the service path would only skip or insert its rows: no new order
  id repeated in the chunk, no cancellation that names an original, no purchase a stored
  cancellation waits for or that a cancellation of the chunk names, no row whose identities
  belong to two customers. Its orders stored before (one lookup for the chunk) are settled as
  the service settles them: another unit's is refused, the same content is a duplicate, other
  content a conflict (compared with the replayed owners of the row's identities).
  Consecutive plain batches are written set-based: the customers nobody knew in one
  ``bulk_create`` (with their ``customer.created`` events), their identities in one insert,
  the generated names in one update, the orders by ``COPY`` into a temporary staging table
  and one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``; the overlap warnings (the same
  order ids or purchases under another source) by one query each. Every other batch goes
  through the service path (``_ingest_batch``) at its place in the sequence, so what follows
  it sees what it stored.
- A chunk is one transaction (a savepoint inside a dry run's). When a concurrent import
  stored one of its identities or order ids first (the insert returns fewer rows than
  staged), the chunk is rolled back and run again through the service path, which settles
  such races; a deadlock is retried like the service's batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import OperationalError, connection, transaction
from psycopg.errors import DeadlockDetected

from crm.models import BusinessUnit, TransactionKind
from crm.services.transaction_bulk_plan import _is_plain, _Owners, _Plan, _plan_batch
from crm.services.transaction_bulk_writes import _flush, _RaceLost
from crm.services.transaction_conflicts import stored_orders
from crm.services.transaction_customers import _keys
from crm.services.transaction_input import (
    BATCH_SIZE,
    IngestResult,
    TransactionInput,
    _checked_source,
    _Clean,
    validate_batch,
)
from crm.services.transactions import _batches, _ingest_batch, _ingest_batch_retrying

# A chunk (whole batches) holds about this many file rows (an order counts its lines): one
# transaction, one lookup of each kind; ~50 MB of orders in memory at most.
CHUNK_ROWS = 50_000


def ingest_transactions_bulk(
    *,
    business_unit: BusinessUnit,
    source: str,
    rows: Iterable[TransactionInput],
    batch_size: int = BATCH_SIZE,
    chunk_rows: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """``ingest_transactions`` for many rows: the same validation, customers, orders,
    errors and warnings, written chunk by chunk (see the module's docstring): an import
    stopped halfway keeps the chunks stored before (about ``CHUNK_ROWS`` file rows each)."""
    source = _checked_source(source)
    chunk_rows = chunk_rows or CHUNK_ROWS
    if not dry_run:
        return _run(business_unit, source, rows, batch_size, chunk_rows, progress, lock=True)
    with transaction.atomic():
        # Nothing of a dry run is kept: the customers it matches are not share-locked (a
        # merge or an edit need not wait for it); the rest is the real run, rolled back.
        result = _run(business_unit, source, rows, batch_size, chunk_rows, progress, lock=False)
        transaction.set_rollback(True)
    return result


def _run(
    unit: BusinessUnit,
    source: str,
    rows: Iterable[TransactionInput],
    batch_size: int,
    chunk_rows: int,
    progress: Callable[[int], None] | None,
    lock: bool,
) -> IngestResult:
    result = IngestResult()
    chunk: list[list[_Clean]] = []
    read = 0
    for batch in _batches(rows, batch_size):
        result.received += len(batch)
        clean = validate_batch(batch, result)
        chunk.append(clean)
        read += sum(max(1, len(row.lines)) for row in batch)
        if read >= chunk_rows:
            _chunk_retrying(unit, source, chunk, result, lock)
            chunk, read = [], 0
        if progress:
            progress(result.received)
    if chunk:
        _chunk_retrying(unit, source, chunk, result, lock)
    for line in result.waiting.values():  # still waiting at the end: said once
        result.warnings.add("cancellation_waiting", line)
    result.errors.sort(key=lambda e: (e.line is None, e.line or 0))
    return result


def _chunk_retrying(
    unit: BusinessUnit, source: str, chunk: list[list[_Clean]], result: IngestResult, lock: bool
) -> None:
    """One chunk in one transaction (a savepoint in a dry run); its batches' results are
    counted in, in order, once it is stored."""
    for attempt in range(3):
        parts = [IngestResult() for _b in chunk]
        for batch in chunk:
            for r in batch:
                r.customer_id = None
        try:
            with transaction.atomic():
                _chunk(unit, source, chunk, parts, lock)
        except _RaceLost:
            # The service path settles what a concurrent import stored first, batch by batch.
            for batch in chunk:
                for r in batch:
                    r.customer_id = None
                if batch:
                    result.add(_ingest_batch_retrying(unit, source, batch, report=True))
            return
        except OperationalError as exc:
            if attempt == 2 or not isinstance(exc.__cause__, DeadlockDetected):
                raise
            continue
        for part in parts:
            result.add(part)
        return


_OTHER_SOURCE_SQL = """
SELECT external_id, source FROM crm_transaction
WHERE business_unit_id = %s AND source <> %s AND external_id = ANY(%s)
"""
# Purchases a stored cancellation waits for (of any unit, as the service's insert asks).
_AWAITED_SQL = """
SELECT DISTINCT original_external_id FROM crm_transaction
WHERE source = %s AND kind = 'cancellation' AND original_id IS NULL
  AND original_external_id = ANY(%s)
"""


def _chunk(
    unit: BusinessUnit,
    source: str,
    chunk: list[list[_Clean]],
    parts: list[IngestResult],
    lock: bool,
) -> None:
    rows = [r for batch in chunk for r in batch]
    ids = [r.row.external_id for r in rows]
    named_originals = {
        r.row.original_external_id
        for r in rows
        if r.row.kind == TransactionKind.CANCELLATION and r.row.original_external_id
    }
    with connection.cursor() as cursor:
        stored = stored_orders(cursor, source, rows)
        seen: set[str] = set()
        repeated = {  # a fresh order id twice: the second is compared with the first
            x
            for x in ids
            if x not in stored and (x in seen or seen.add(x))  # type: ignore[func-returns-value]
        }
        cursor.execute(_OTHER_SOURCE_SQL, [unit.pk, source, ids])
        other: dict[str, str] = {}
        for external_id, other_source in cursor.fetchall():
            other.setdefault(external_id, other_source)
        cursor.execute(_AWAITED_SQL, [source, ids])
        awaited = {x for (x,) in cursor.fetchall()} | named_originals
        owners = _Owners(cursor, {k for r in rows for k in _keys(r)}, lock)
        plan = _Plan()
        for index, batch in enumerate(chunk):
            if _is_plain(batch, repeated, awaited, stored) and _plan_batch(
                index, batch, owners, plan, stored, unit.pk, source, parts[index]
            ):
                continue
            _flush(cursor, unit, source, plan, parts, other)
            for r in batch:
                r.customer_id = None
            _ingest_batch(unit, source, batch, parts[index], report=True)
            rest = {k for later in chunk[index + 1 :] for r in later for k in _keys(r)}
            owners = _Owners(cursor, rest, lock)
            plan = _Plan()
        _flush(cursor, unit, source, plan, parts, other)
