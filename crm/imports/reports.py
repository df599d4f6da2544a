"""Every rejected row of an import, kept as a file next to the uploads.

A job's result holds the first ``MAX_REPORTED_ERRORS`` rows for its page; the whole report is
written to ``VAR_DIR/import-errors/<job id>.csv`` (UTF-8 with BOM, readable by its owner only,
formulas neutralized) and served by the import screen's download. Housekeeping deletes reports
older than ``ERROR_REPORT_DAYS``.
"""

from __future__ import annotations

import codecs
import csv
import os
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import tablib
from django.conf import settings
from django.utils.translation import gettext as _

from crm.imports.files import CSVFormat
from crm.services import RowError

ERROR_REPORT_DAYS = 30
ALL_ERRORS = sys.maxsize  # what the job asks the import for; the file takes them all

MAX_REPORTED_ERRORS = 200  # rejected rows kept in a job's result (all of them in its file)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (``= + - @``, tab, CR first) is quoted."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _headers(key_label: Any) -> list[str]:
    """The report's columns; the last one names the row's key (an order id by default)."""
    return [_("Line"), _("Column"), _("Reason"), str(key_label or _("Order id"))]


def error_report_csv(
    errors: Iterable[RowError | Mapping[str, Any]], *, key_label: Any = None
) -> bytes:
    """Rejected rows as a CSV Excel opens correctly (UTF-8 with BOM), formulas neutralized."""
    dataset = tablib.Dataset(headers=_headers(key_label))
    for error in errors:
        item = error.as_dict() if isinstance(error, RowError) else error
        dataset.append(
            [
                item.get("line") or "",
                neutralize_formula(str(item.get("field") or "")),
                neutralize_formula(str(item.get("reason") or "")),
                neutralize_formula(str(item.get("external_id") or "")),
            ]
        )
    return codecs.BOM_UTF8 + CSVFormat().export_data(dataset).encode("utf-8")


def reports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "import-errors"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def report_path(job_id: Any) -> Path:
    """The report of job ``job_id`` (a UUID: nothing else can be named)."""
    return reports_dir() / f"{uuid.UUID(str(job_id)).hex}.csv"


def write_error_report(
    job_id: Any, errors: Iterable[RowError | Mapping[str, Any]], *, key_label: Any = None
) -> int:
    """Write every error of the job; the number written (no file when there are none)."""
    path = report_path(job_id)
    partial = path.with_suffix(".part")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    written = 0
    with os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(_headers(key_label))
        for error in errors:
            item = error.as_dict() if isinstance(error, RowError) else error
            writer.writerow(
                [
                    item.get("line") or "",
                    neutralize_formula(str(item.get("field") or "")),
                    neutralize_formula(str(item.get("reason") or "")),
                    neutralize_formula(str(item.get("external_id") or "")),
                ]
            )
            written += 1
    if written:
        partial.replace(path)
    else:
        partial.unlink()
    return written


def keep_error_report(
    job_id: Any, result: dict[str, Any], *, key_label: Any = None
) -> dict[str, Any]:
    """An import result with every error in ``errors``: the errors written to the job's report
    file, the result keeping the first ``MAX_REPORTED_ERRORS`` and ``error_report`` (whether a
    file was written, how many errors only the file holds)."""
    errors = result.get("errors") or []
    written = write_error_report(job_id, errors, key_label=key_label)
    return {
        **result,
        "errors": errors[:MAX_REPORTED_ERRORS],
        # a dict, so the job page's figures table leaves it to the import's own section
        "error_report": {
            "stored": written > 0,
            "not_shown": max(0, len(errors) - MAX_REPORTED_ERRORS),
        },
    }


def purge_error_reports(*, older_than_days: float = ERROR_REPORT_DAYS) -> int:
    """Delete error reports older than ``older_than_days``; how many."""
    cutoff = time.time() - older_than_days * 24 * 3600
    removed = 0
    for path in reports_dir().iterdir():
        if path.suffix in (".csv", ".part") and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
