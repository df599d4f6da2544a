"""Running a record importer (``crm.imports.records``) on a stored upload: reading the file,
the background job with its progress, and starting it from a mapped draft.

The job's params are those of the transaction import's job (``upload``, ``filename``,
``business_unit_id``, ``dry_run``, ``options``, ``kept_upload``) plus ``record_import`` (the
importer's kind), so "Import this file" after a dry run
(``crm.imports.drafts.import_after_dry_run``) and the error report work the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from crm.imports.drafts import ImportDraft, start_draft_import
from crm.imports.files import ImportFileError, Table, run_on_file
from crm.imports.options import ImportOptions
from crm.imports.records import (
    RESULT_LABELS,
    RecordImporter,
    import_records,
)
from crm.imports.reports import ALL_ERRORS, MAX_REPORTED_ERRORS
from crm.imports.running import run_upload_job
from crm.jobs import JobContext, job_handler
from crm.models import BusinessUnit, Job, User

_IMPORTERS: dict[str, RecordImporter] = {}


def register_importer(importer: RecordImporter) -> RecordImporter:
    """Declare an importer and its job kind (``<kind>.import`` unless given)."""
    job_kind = importer.job_kind or f"{importer.kind}.import"
    importer = RecordImporter(**{**importer.__dict__, "job_kind": job_kind})
    _IMPORTERS[importer.kind] = importer
    register_record_job(importer)
    return importer


def get_importer(kind: str) -> RecordImporter:
    try:
        return _IMPORTERS[kind]
    except KeyError:
        raise ImportFileError(_("Unknown import kind “%(kind)s”.") % {"kind": kind}) from None


def record_importers() -> dict[str, RecordImporter]:
    return dict(_IMPORTERS)


def importer_of_job(job_kind: str) -> RecordImporter | None:
    return next((i for i in _IMPORTERS.values() if i.job_kind == job_kind), None)


def run_record_import(
    *,
    importer: RecordImporter,
    business_unit: BusinessUnit,
    user: User | None,
    filename: str,
    dry_run: bool,
    data: bytes | None = None,
    path: Path | None = None,
    options: ImportOptions | None = None,
    progress: Callable[[float, int], None] | None = None,
    max_errors: int = MAX_REPORTED_ERRORS,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Import a CSV or XLSX file held in memory (``data``) or on disk (``path``, streamed; a
    text file's encoding is checked to its end before any row is written)."""

    def run(table: Table) -> dict[str, Any]:
        extra = {"batch_size": batch_size} if batch_size else {}
        return import_records(
            table,
            importer=importer,
            business_unit=business_unit,
            user=user,
            dry_run=dry_run,
            options=options,
            progress=progress,
            max_errors=max_errors,
            **extra,
        )

    return run_on_file(run, filename=filename, data=data, path=path)


def register_record_job(importer: RecordImporter) -> None:
    # the rows read, then what became of them, then the file's facts
    labels = {"received": RESULT_LABELS["received"], **importer.outcomes, **RESULT_LABELS}

    @job_handler(importer.job_kind, label=importer.label, result_labels=labels)
    def handler(ctx: JobContext) -> dict[str, Any]:
        return _run_job(ctx, importer)


def _run_job(ctx: JobContext, importer: RecordImporter) -> dict[str, Any]:
    """The importer on the job's stored file (``crm.imports.running.run_upload_job``)."""

    def run(**kwargs: Any) -> dict[str, Any]:
        return run_record_import(
            importer=importer, user=ctx.job.created_by, max_errors=ALL_ERRORS, **kwargs
        )

    return run_upload_job(ctx, run, key_label=importer.key_label)


def start_record_import(*, draft: ImportDraft, **kwargs: Any) -> Job:
    """Start the job of a mapped draft of a record importer (``start_draft_import`` with the
    importer's job kind; the params name the importer)."""
    importer = get_importer(draft.kind)
    return start_draft_import(
        draft=draft, job_kind=importer.job_kind, params={"record_import": importer.kind}, **kwargs
    )
