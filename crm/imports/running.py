"""Running an import: the service call, error reports, stored uploads and the job."""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm.imports.columns import check_positions, column_positions, is_line_level
from crm.imports.files import (
    ImportFileError,
    Table,
    is_blank,
    run_on_file,
)
from crm.imports.grouping import count_orders, group_orders, order_key
from crm.imports.options import ImportOptions
from crm.imports.reports import (
    ALL_ERRORS,
    MAX_REPORTED_ERRORS,
    keep_error_report,
)
from crm.imports.rows import FIELD_TO_COLUMN, map_line, map_row
from crm.jobs import JobContext, job_handler
from crm.models import BusinessUnit, Channel, Job
from crm.services import (
    IngestResult,
    RowError,
    TransactionInput,
    WarningLog,
    ingest_transactions,
    ingest_transactions_bulk,
)

logger = logging.getLogger(__name__)

IMPORT_JOB_KIND = "crm.import_transactions"
BATCH_SIZE = 1000  # rows per call of the service's batch, like its own default
_UPLOAD_NAME = re.compile(r"^[0-9a-f]{32}\.(csv|xlsx)$")


@dataclass
class ImportOutcome:
    result: IngestResult
    format: str
    encoding: str
    options: ImportOptions

    def as_dict(self, max_errors: int = MAX_REPORTED_ERRORS) -> dict[str, Any]:
        """The service's counts, errors and warnings, the file's encoding and format, and the
        options the rows were read with (decimal mark, time zone, default currency)."""
        return {
            **self.result.as_dict(max_errors=max_errors),
            "decimal_mark": self.options.decimal_mark,
            "time_zone": self.options.time_zone,
            "currency": self.options.currency,
            "encoding": self.encoding,
            "format": self.format,
        }


def import_table(
    table: Table,
    *,
    business_unit: BusinessUnit,
    source: str,
    channel: str,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[float, int], None] | None = None,
    options: ImportOptions | None = None,
    bulk: bool = True,
) -> ImportOutcome:
    """Map the table's rows and ingest them; ``progress(fraction_read, rows_read)`` runs
    every ``batch_size`` rows. Rows that could not be mapped are reported with the service's errors,
    sorted by line. ``bulk``: through ``ingest_transactions_bulk`` (the same result, written
    chunk by chunk), else batch by batch through ``ingest_transactions``."""
    if channel not in Channel.values:
        raise ImportFileError(
            _("Unknown channel “%(value)s”; use one of %(choices)s.")
            % {"value": channel, "choices": ", ".join(Channel.values)}
        )
    options = options or ImportOptions()
    if options.mapping is not None:
        positions = dict(options.mapping)
        check_positions(positions)
    else:
        positions = column_positions(table.header)
    line_level = is_line_level(positions)
    if (
        line_level
        and "amount" in positions
        and "line_amount" not in positions
        and not {"quantity", "unit_price"} <= positions.keys()
    ):
        # order lines with nothing to price them but an amount column: it is each line's
        positions["line_amount"] = positions.pop("amount")
    counts: dict[str, int] | None = None
    share = 0.0  # of the progress bar the first pass takes
    if line_level and table.reopen is not None:
        counts = count_orders(table, positions["external_id"])
        table, share = table.reopen(), 0.2
        if progress:
            progress(share, 0)
    unmapped: list[RowError] = []
    warnings = WarningLog()
    read = {"rows": 0}

    def cells_read() -> Iterator[tuple[int, dict[str, Any]]]:
        # The service reads a batch before it opens the batch's transaction, so progress
        # (and a cancellation it raises) is reported between batches, never inside one.
        for line, cells in table.rows:
            if is_blank(cells):
                continue
            read["rows"] += 1
            if progress and read["rows"] % batch_size == 0:
                progress(share + (1 - share) * table.fraction(), read["rows"])
            yield line, {c: cells[i] if i < len(cells) else None for c, i in positions.items()}

    def order_rows() -> Iterator[TransactionInput]:
        for line, values in cells_read():
            mapped = map_row(
                values,
                line=line,
                channel=channel,
                source=source,
                options=options,
                warnings=warnings,
            )
            if isinstance(mapped, RowError):
                unmapped.append(mapped)
            else:
                yield mapped

    def line_rows() -> Iterator[TransactionInput]:
        pairs = (
            (
                order_key(values.get("external_id")),
                (
                    map_row(
                        values,
                        line=line,
                        channel=channel,
                        source=source,
                        options=options,
                        warnings=warnings,
                        amount_required=False,
                    ),
                    map_line(values, line=line, options=options),
                ),
            )
            for line, values in cells_read()
        )
        kind_given = "kind" in positions
        for order in group_orders(pairs, counts, kind_given=kind_given, warnings=warnings):
            if isinstance(order, list):
                unmapped.extend(order)
            else:
                yield order

    ingest = ingest_transactions_bulk if bulk else ingest_transactions
    result = ingest(
        business_unit=business_unit,
        source=source,
        rows=line_rows() if line_level else order_rows(),
        batch_size=batch_size,
        dry_run=dry_run,
    )
    result.received = read["rows"]
    warnings.merge(result.warnings)
    result.warnings = warnings
    result.errors = sorted(
        [
            RowError(e.line, FIELD_TO_COLUMN.get(e.field, e.field), e.reason, e.external_id)
            for e in [*unmapped, *result.errors]
        ],
        key=lambda e: (e.line is None, e.line or 0),
    )
    if progress:
        progress(1.0, read["rows"])
    return ImportOutcome(
        result=result, format=table.format, encoding=table.encoding, options=options
    )


def run_transaction_import(
    *,
    business_unit: BusinessUnit,
    source: str,
    filename: str,
    channel: str,
    dry_run: bool,
    data: bytes | None = None,
    path: Path | None = None,
    progress: Callable[[float, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    max_errors: int = MAX_REPORTED_ERRORS,
    options: ImportOptions | None = None,
    bulk: bool = True,
) -> dict[str, Any]:
    """Import a CSV or XLSX file, held in memory (``data``) or on disk (``path``, read as a
    stream, never whole): the service's result (``received``, ``created``, ``duplicates``, …,
    ``errors`` as dicts of line, field, reason and order id, the first ``max_errors`` of them,
    ``warnings``), the options used, and the file's ``encoding`` and ``format``."""

    def run(table: Table) -> dict[str, Any]:
        outcome = import_table(
            table,
            business_unit=business_unit,
            source=source,
            channel=channel,
            dry_run=dry_run,
            batch_size=batch_size,
            progress=progress,
            options=options,
            bulk=bulk,
        )
        return outcome.as_dict(max_errors=max_errors)

    return run_on_file(run, filename=filename, data=data, path=path)


# --- Error reports -----------------------------------------------------------------------


# --- Uploads and the background job ------------------------------------------------------


def uploads_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(chunks: Iterable[bytes], *, filename: str) -> str:
    """Write an upload under ``VAR_DIR/imports`` (readable by its owner only); the stored
    name, which the job receives instead of a path."""
    extension = ".xlsx" if filename.lower().endswith(".xlsx") else ".csv"
    name = f"{uuid.uuid4().hex}{extension}"
    descriptor = os.open(uploads_dir() / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        for chunk in chunks:
            target.write(chunk)
    return name


def upload_path(name: str) -> Path:
    """The stored upload ``name``; nothing outside the uploads folder can be named."""
    if not _UPLOAD_NAME.match(name or ""):
        raise ImportFileError(_("The uploaded file is missing; upload it again."))
    return uploads_dir() / name


def delete_upload(name: str) -> None:
    if _UPLOAD_NAME.match(name or ""):
        (uploads_dir() / name).unlink(missing_ok=True)


def purge_stale_uploads(*, older_than_seconds: float = 2 * 24 * 3600) -> int:
    """Delete uploads whose job never ran (cancelled while queued, worker lost)."""
    import time as clock

    cutoff = clock.time() - older_than_seconds
    removed = 0
    for path in uploads_dir().iterdir():
        if _UPLOAD_NAME.match(path.name) and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


RESULT_LABELS = {
    "received": gettext_lazy("Rows read"),
    "created": gettext_lazy("Orders imported"),
    "lines": gettext_lazy("Order lines"),
    "cancellations": gettext_lazy("Cancellations imported"),
    "cancellations_linked": gettext_lazy("Cancellations linked to their order"),
    "duplicates": gettext_lazy("Already imported before (skipped)"),
    "guests": gettext_lazy("Guest orders (no customer)"),
    "customers_created": gettext_lazy("New customers"),
    "customers_matched": gettext_lazy("Existing customers matched"),
    "rejected": gettext_lazy("Rows rejected"),
    "errors": gettext_lazy("Rejected rows"),
    "warnings": gettext_lazy("Warnings"),
    "decimal_mark": gettext_lazy("Decimal mark"),
    "time_zone": gettext_lazy("Time zone of times without one"),
    "currency": gettext_lazy("Currency of rows without one"),
    "encoding": gettext_lazy("Text encoding"),
    "format": gettext_lazy("File format"),
    "dry_run": gettext_lazy("Dry run (nothing saved)"),
    "filename": gettext_lazy("File"),
}


@job_handler(
    IMPORT_JOB_KIND, label=gettext_lazy("Import transactions"), result_labels=RESULT_LABELS
)
def import_transactions_job(ctx: JobContext) -> dict[str, Any]:
    """Params: ``upload`` (stored name), ``filename``, ``business_unit_id``, ``source``,
    ``channel``, ``dry_run``, ``options`` (``ImportOptions.as_dict()``)."""
    params = ctx.params

    def run(**kwargs: Any) -> dict[str, Any]:
        return run_transaction_import(
            source=params.get("source", ""),
            channel=params.get("channel", Channel.OTHER),
            max_errors=ALL_ERRORS,
            **kwargs,
        )

    return run_upload_job(ctx, run)


def run_upload_job(
    ctx: JobContext, run: Callable[..., dict[str, Any]], *, key_label: Any = None
) -> dict[str, Any]:
    """What every import job does around its importer: read the params (``upload``,
    ``filename``, ``business_unit_id``, ``dry_run``, ``options``), call ``run(business_unit=,
    path=, filename=, dry_run=, options=, progress=)`` (a dry run's progress written through a
    connection of its own), keep every error in the job's report file, and delete the stored
    file whatever happens."""
    params = ctx.params
    name = params.get("upload", "")
    dry_run = bool(params.get("dry_run"))
    try:
        ctx.progress(1, _("Reading the file"))
        unit = BusinessUnit.objects.get(pk=params["business_unit_id"])
        path = upload_path(name)
        if not path.is_file():
            raise ImportFileError(_("The uploaded file is missing; upload it again."))
        side = _ProgressOutside(ctx) if dry_run else None

        def report(fraction: float, rows: int) -> None:
            message = ngettext("%(count)s row read", "%(count)s rows read", rows) % {"count": rows}
            (side or ctx).progress(2 + 97 * fraction, message)

        try:
            result = run(
                business_unit=unit,
                path=path,
                filename=params.get("filename", name),
                dry_run=dry_run,
                options=ImportOptions.from_dict(params.get("options")),
                progress=report,
            )
        finally:
            if side is not None:
                side.close()
        result = keep_error_report(ctx.job.pk, result, key_label=key_label)
    finally:
        delete_upload(name)
    return {**result, "dry_run": dry_run, "filename": params.get("filename")}


class _ProgressOutside:
    """Progress of a dry run, written through a connection of its own: the dry run's
    transaction is rolled back at the end, and writing the job row inside it would lock the
    row (a cancel request would wait) and lose every update. Cancellation is still read."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.connection = connections.create_connection(DEFAULT_DB_ALIAS)

    def progress(self, percent: float, message: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Job._meta.db_table} SET progress = %s, message = %s, "  # noqa: S608
                "updated_at = now() WHERE id = %s",
                [max(0, min(100, int(percent))), message[:300], self.ctx.job.pk],
            )
        self.ctx.check_cancelled()

    def close(self) -> None:
        self.connection.close()
