"""Exports of a filtered list as CSV or XLSX, written by a background job with progress.

Generic: a list registers an :class:`ExportSpec` (``register_export``) naming its columns and
a function yielding its rows in batches for the list's filters; the job writes them one
batch at a time (bounded memory) to ``VAR_DIR/exports`` (readable by the server's user
only), and only the user who started the export may download the file
(``crm.web.exports``). Housekeeping deletes files older than ``EXPORT_KEEP_DAYS``.

What a file holds:

- numbers are numbers: amounts are numeric cells in XLSX (formatted ``#,##0.00``) and plain
  ``1234.50`` in CSV (no thousands separator, no currency sign), counts are integers;
- dates are dates (XLSX date cells, ISO ``YYYY-MM-DD`` in CSV), in the user's time zone;
- text a spreadsheet would run as a formula is neutralized (``crm.imports.neutralize_formula``);
- personal identities are masked unless the user may reveal them and asked to: such an export
  is audited like a reveal on screen (one ``PiiAccess`` row per exported customer).
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm.errors import DomainError
from crm.imports import neutralize_formula
from crm.jobs import JobContext, job_handler
from crm.models import Job, User

EXPORT_JOB_KIND = "crm.export"
EXPORT_KEEP_DAYS = 7
EXPORT_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
_FILE_NAME = re.compile(r"^[0-9a-f]{32}\.(csv|xlsx)$")


@dataclass(frozen=True)
class Column:
    """``kind``: ``text``, ``int``, ``money`` (a Decimal), ``date`` or ``datetime``."""

    key: str
    label: Any
    kind: str = "text"


@dataclass(frozen=True)
class ExportSpec:
    """A list that can be exported.

    ``columns(reveal)`` lists the columns; ``count(user, params)`` how many rows the filters
    match (for progress); ``rows(user, params, reveal)`` yields batches of dicts keyed by
    column (it records any audit the rows need). ``params`` are the list's filter
    parameters (``crm.registry.ListSpec.params``)."""

    list_key: str
    label: Any
    filename: str
    permission: str
    columns: Callable[[bool], list[Column]]
    count: Callable[[Any, dict[str, str]], int]
    rows: Callable[[Any, dict[str, str], bool], Iterator[list[dict[str, Any]]]]


_SPECS: dict[str, ExportSpec] = {}


def register_export(spec: ExportSpec) -> None:
    _SPECS[spec.list_key] = spec


def export_spec(list_key: str) -> ExportSpec | None:
    return _SPECS.get(list_key)


class ExportRefused(DomainError):
    code = "export_refused"
    status = 403


class UnknownExport(DomainError):
    code = "unknown_export"
    status = 404


def export_params(list_key: str, query: str | QueryDict) -> dict[str, str]:
    """The list's filter parameters of ``query`` (``crm.services.sanitize_query``'s rule)."""
    from crm.services import known_list, sanitize_query

    kept = QueryDict(sanitize_query(known_list(list_key), query))
    return {key: kept[key] for key in kept}


def start_export(
    *, user: Any, list_key: str, query: str | QueryDict, file_format: str, reveal: bool = False
) -> Job:
    """Check and start the export job of a list's filtered rows."""
    from crm.services import start_job

    spec = export_spec(list_key)
    if spec is None:
        raise UnknownExport(_("This list cannot be exported."), field="list_key")
    if not user.has_perm(spec.permission):
        raise UnknownExport(_("This list cannot be exported."), field="list_key")
    if file_format not in EXPORT_FORMATS:
        raise DomainError(_("Choose CSV or Excel (XLSX)."), field="format")
    if reveal and not user.has_perm("crm.reveal_customer_pii"):
        raise ExportRefused(_("You may not export full phone numbers and e-mail addresses."))
    return start_job(
        kind=EXPORT_JOB_KIND,
        user=user,
        params={
            "list_key": list_key,
            "filters": export_params(list_key, query),
            "format": file_format,
            "reveal": bool(reveal),
        },
    )


# --- Files -------------------------------------------------------------------------------


def exports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "exports"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def export_download_name(job: Job) -> str:
    return str(((job.result or {}).get("download") or {}).get("filename") or "export")


def export_file(job: Job) -> Path | None:
    """The finished export's file, or ``None`` (not an export, not finished, purged)."""
    name = str(((job.result or {}).get("download") or {}).get("file") or "")
    if job.kind != EXPORT_JOB_KIND or not _FILE_NAME.match(name):
        return None
    path = exports_dir() / name
    return path if path.exists() else None


def purge_old_exports(*, days: int = EXPORT_KEEP_DAYS, now: float | None = None) -> int:
    """Delete export files older than ``days``; returns how many."""
    cutoff = (now or time.time()) - days * 24 * 3600
    removed = 0
    for path in exports_dir().iterdir():
        if _FILE_NAME.match(path.name) and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _cell_value(column: Column, value: Any) -> Any:
    if value is None or value == "":
        return None
    if column.kind == "text":
        return neutralize_formula(str(value))
    if column.kind == "datetime" and isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    if column.kind == "date" and isinstance(value, datetime):
        return timezone.localtime(value).date()
    return value


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


class _CsvWriter:
    def __init__(self, target: Any) -> None:
        self.text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.text)

    def header(self, labels: list[str]) -> None:
        self.writer.writerow([neutralize_formula(label) for label in labels])

    def rows(self, columns: list[Column], batch: list[dict[str, Any]]) -> None:
        self.writer.writerows(
            [_csv_text(_cell_value(c, row.get(c.key))) for c in columns] for row in batch
        )

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


_XLSX_FORMATS = {
    "money": "#,##0.00",
    "int": "0",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}


class _XlsxWriter:
    def __init__(self, target: Any) -> None:
        from openpyxl import Workbook

        self.target = target
        self.book = Workbook(write_only=True)  # streams rows to a temporary file
        self.sheet = self.book.create_sheet()

    def header(self, labels: list[str]) -> None:
        self.sheet.title = "Export"
        self.sheet.append([neutralize_formula(label) for label in labels])

    def rows(self, columns: list[Column], batch: list[dict[str, Any]]) -> None:
        from openpyxl.cell import WriteOnlyCell

        for row in batch:
            cells = []
            for column in columns:
                value = _cell_value(column, row.get(column.key))
                cell = WriteOnlyCell(self.sheet, value=value)
                if column.kind == "text" and value is not None:
                    cell.data_type = "s"  # never a formula, whatever the text
                elif column.kind in _XLSX_FORMATS and value is not None:
                    cell.number_format = _XLSX_FORMATS[column.kind]
                cells.append(cell)
            self.sheet.append(cells)

    def close(self) -> None:
        self.book.save(self.target)


def write_export(
    target: Any,
    file_format: str,
    columns: list[Column],
    batches: Iterator[list[dict[str, Any]]],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write a header and ``batches`` of rows to the binary stream ``target``; rows written."""
    writer: _CsvWriter | _XlsxWriter = (
        _XlsxWriter(target) if file_format == "xlsx" else _CsvWriter(target)
    )
    writer.header([str(c.label) for c in columns])
    written = 0
    for batch in batches:
        writer.rows(columns, batch)
        written += len(batch)
        if progress:
            progress(written)
    writer.close()
    return written


@job_handler(
    EXPORT_JOB_KIND,
    label=gettext_lazy("Export a list"),
    result_labels={
        "rows": gettext_lazy("Rows exported"),
        "format": gettext_lazy("File format"),
        "list": gettext_lazy("List"),
    },
)
def export_job(ctx: JobContext) -> dict[str, Any]:
    """Params: ``list_key``, ``filters``, ``format``, ``reveal``. Runs as its starter, whose
    permissions are checked again (they may have changed since)."""
    params = ctx.params
    spec = export_spec(str(params.get("list_key") or ""))
    user = User.objects.filter(pk=ctx.job.created_by_id, is_active=True).first()
    if spec is None or user is None or not user.has_perm(spec.permission):
        raise UnknownExport(_("This list cannot be exported."))
    reveal = bool(params.get("reveal"))
    if reveal and not user.has_perm("crm.reveal_customer_pii"):
        raise ExportRefused(_("You may not export full phone numbers and e-mail addresses."))
    file_format = "xlsx" if params.get("format") == "xlsx" else "csv"
    filters = {str(k): str(v) for k, v in (params.get("filters") or {}).items()}
    ctx.progress(1, _("Counting the rows"))
    total = max(1, spec.count(user, filters))

    def report(done: int) -> None:
        ctx.progress(
            min(99, 2 + 97 * done / total),
            ngettext("%(count)d row written", "%(count)d rows written", done) % {"count": done},
        )

    name = f"{ctx.job.pk.hex}.{file_format}"
    path = exports_dir() / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as target:
            rows = write_export(
                target, file_format, spec.columns(reveal), spec.rows(user, filters, reveal), report
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return {
        "rows": rows,
        "format": file_format.upper(),
        "list": str(spec.label),
        # a dict: kept out of the job page's figures
        "download": {"file": name, "filename": f"{spec.filename}-{stamp}.{file_format}"},
    }
