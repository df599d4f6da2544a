"""Importers of records other than transactions (accounts, contacts, members…) on the same
machinery: the same files and decoding, column sets with Chinese and English names, saved
mappings per unit and kind, drafts, dry runs, the job with its progress and error reports.

An app declares a ``RecordImporter`` (its ``ColumnSet``, a row parser and a row applier that
calls the app's services) and registers it with ``crm.imports.record_jobs.register_importer``
from its ``AppConfig.ready``; that also registers its job kind. Rows are read one at a time:

- ``parse(values, ctx)`` turns the row's cells (``column -> cell``) into what ``apply``
  needs, or raises ``RowProblem(column, reason)`` (or a ``DomainError`` whose ``field`` is a
  column): nothing is written;
- ``apply(parsed, ctx)`` writes through the app's services inside a savepoint of its own and
  returns the outcome (a key of ``outcomes``: created, updated, unchanged…); a
  ``DomainError`` rolls the row back whole and reports it with its line and column.

A batch of rows is one transaction (the job's progress and cancellation are checked between
batches). A dry run is the real run rolled back at the end, so its counts and errors are the
import's. ``ctx.cache`` lives for the run; ``ctx.after_row`` callbacks run once the row has
succeeded (for caches that must not learn a row that was rolled back).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm.errors import DomainError
from crm.imports.columns import ColumnSet
from crm.imports.files import Table, cell_text, is_blank
from crm.imports.options import ImportOptions
from crm.imports.reports import MAX_REPORTED_ERRORS
from crm.models import BusinessUnit, User
from crm.services import RowError

RECORD_BATCH_SIZE = 200


class RowProblem(Exception):
    """A row that cannot be imported: the column and a reason a person can act on."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


@dataclass
class RecordContext:
    business_unit: BusinessUnit
    user: User | None
    dry_run: bool
    options: ImportOptions
    cache: dict[str, Any] = field(default_factory=dict)
    after_row: list[Callable[[], None]] = field(default_factory=list)


@dataclass(frozen=True)
class RecordImporter:
    kind: str  # ``ImportMapping.kind`` and the draft's kind, e.g. "accounts"
    label: Any  # "Import accounts"
    columns: ColumnSet
    parse: Callable[[dict[str, Any], RecordContext], Any]
    apply: Callable[[Any, RecordContext], str]
    outcomes: Mapping[str, Any]  # outcome -> label, in the order the result shows them
    permissions: tuple[str, ...]  # what importing needs
    key_column: str = ""  # the column naming a row in the error report (a USCC, a name)
    template_rows: Callable[[], list[dict[str, str]]] = list
    field_columns: Mapping[str, str] = field(default_factory=dict)  # service field -> column
    job_kind: str = ""

    @property
    def key_label(self) -> str:
        return self.columns.label(self.key_column) if self.key_column else _("Row")

    def template_table(self, *, chinese: bool) -> tuple[list[str], list[list[str]]]:
        columns = list(self.columns.columns)
        headers = [self.columns.header_name(c, chinese=chinese) for c in columns]
        rows = [[str(row.get(c, "")) for c in columns] for row in self.template_rows()]
        return headers, rows


def import_records(
    table: Table,
    *,
    importer: RecordImporter,
    business_unit: BusinessUnit,
    user: User | None,
    dry_run: bool = False,
    options: ImportOptions | None = None,
    batch_size: int = RECORD_BATCH_SIZE,
    progress: Callable[[float, int], None] | None = None,
    max_errors: int = MAX_REPORTED_ERRORS,
) -> dict[str, Any]:
    """Read, parse and apply every row of ``table``; the counts per outcome, ``received``,
    ``rejected`` and ``errors`` (line, column, reason, the row's key), the first
    ``max_errors`` of them. ``progress(fraction_read, rows_read)`` runs between batches."""
    options = options or ImportOptions()
    positions = importer.columns.positions(table.header, options.mapping)
    ctx = RecordContext(business_unit=business_unit, user=user, dry_run=dry_run, options=options)
    counts = dict.fromkeys(importer.outcomes, 0)
    errors: list[RowError] = []
    received = 0

    def batches() -> Iterator[list[tuple[int, dict[str, Any]]]]:
        batch: list[tuple[int, dict[str, Any]]] = []
        for line, cells in table.rows:
            if is_blank(cells):
                continue
            batch.append(
                (line, {c: cells[i] if i < len(cells) else None for c, i in positions.items()})
            )
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    with transaction.atomic() if dry_run else nullcontext():
        for batch in batches():
            with transaction.atomic():
                for line, values in batch:
                    received += 1
                    outcome = _one_row(importer, ctx, line, values, errors)
                    if outcome is not None:
                        counts[outcome] = counts.get(outcome, 0) + 1
            if progress:
                progress(table.fraction(), received)
        if dry_run:
            transaction.set_rollback(True)
    if progress:
        progress(1.0, received)
    errors.sort(key=lambda e: e.line or 0)
    return {
        "received": received,
        **counts,
        "rejected": len(errors),
        "errors": [
            {**e.as_dict(), "label": importer.columns.label(e.field) if e.field else ""}
            for e in errors[:max_errors]
        ],
        "encoding": table.encoding,
        "format": table.format,
    }


def _one_row(
    importer: RecordImporter,
    ctx: RecordContext,
    line: int,
    values: dict[str, Any],
    errors: list[RowError],
) -> str | None:
    key = cell_text(values.get(importer.key_column)) if importer.key_column else ""

    def reject(column: str, reason: str, code: str = "invalid_row") -> None:
        column = importer.field_columns.get(column, column)
        errors.append(RowError(line, column, reason, key[:200], code=code))

    ctx.after_row = []
    try:
        parsed = importer.parse(values, ctx)
        with transaction.atomic():  # the row whole or nothing of it
            outcome = importer.apply(parsed, ctx)
    except RowProblem as problem:
        reject(problem.column, problem.reason)
        return None
    except DomainError as exc:
        reject(exc.field or "", exc.message, exc.code)
        return None
    except DatabaseError as exc:  # a constraint the services did not foresee: this row only
        reject("", _("The database refused this row (%(error)s).") % {"error": type(exc).__name__})
        return None
    for callback in ctx.after_row:
        callback()
    return outcome


RESULT_LABELS = {
    "received": gettext_lazy("Rows read"),
    "rejected": gettext_lazy("Rows rejected"),
    "encoding": gettext_lazy("Text encoding"),
    "format": gettext_lazy("File format"),
    "dry_run": gettext_lazy("Dry run (nothing saved)"),
    "filename": gettext_lazy("File"),
}


def rows_read_message(rows: int) -> str:
    return ngettext("%(count)s row read", "%(count)s rows read", rows) % {"count": rows}
