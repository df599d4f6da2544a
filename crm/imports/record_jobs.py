"""Running a record importer (``crm.imports.records``) on a stored upload: reading the file,
the background job with its progress, and starting it from a mapped draft.

The job's params are those of the transaction import's job (``upload``, ``filename``,
``business_unit_id``, ``dry_run``, ``options``, ``kept_upload``) plus ``record_import`` (the
importer's kind), so "Import this file" after a dry run
(``crm.imports.drafts.import_after_dry_run``) and the error report work the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from crm.imports.drafts import ImportDraft, second_name
from crm.imports.files import ImportFileError, Table, check_decodes, read_table, read_upload
from crm.imports.mapping import save_mapping
from crm.imports.options import ImportOptions
from crm.imports.records import (
    RESULT_LABELS,
    RecordImporter,
    import_records,
    rows_read_message,
)
from crm.imports.reports import ALL_ERRORS, MAX_REPORTED_ERRORS, keep_error_report
from crm.imports.running import _ProgressOutside, delete_upload, upload_path
from crm.jobs import JobContext, job_handler
from crm.models import BusinessUnit, Job, User
from crm.services import start_job

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

    if path is None:
        return run(read_upload(data or b"", filename=filename))
    with path.open("rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        table = read_table(stream, filename=filename, size=size)
        if table.encoding:
            check_decodes(stream, table.encoding)
            table = read_table(stream, filename=filename, size=size)
        return run(table)


def register_record_job(importer: RecordImporter) -> None:
    # the rows read, then what became of them, then the file's facts
    labels = {"received": RESULT_LABELS["received"], **importer.outcomes, **RESULT_LABELS}

    @job_handler(importer.job_kind, label=importer.label, result_labels=labels)
    def handler(ctx: JobContext) -> dict[str, Any]:
        return _run_job(ctx, importer)


def _run_job(ctx: JobContext, importer: RecordImporter) -> dict[str, Any]:
    """Params: ``upload``, ``filename``, ``business_unit_id``, ``dry_run``, ``options``. The
    stored file is deleted whatever happens; every error goes to the job's report file."""
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
            target = side if side is not None else ctx
            target.progress(2 + 97 * fraction, rows_read_message(rows))

        try:
            result = run_record_import(
                importer=importer,
                business_unit=unit,
                user=ctx.job.created_by,
                path=path,
                filename=params.get("filename", name),
                dry_run=dry_run,
                options=ImportOptions.from_dict(params.get("options")),
                progress=report,
                max_errors=ALL_ERRORS,
            )
        finally:
            if side is not None:
                side.close()
        result = keep_error_report(ctx.job.pk, result, key_label=importer.key_label)
    finally:
        delete_upload(name)
    return {**result, "dry_run": dry_run, "filename": params.get("filename")}


def start_record_import(
    *,
    draft: ImportDraft,
    business_unit: BusinessUnit,
    options: ImportOptions,
    dry_run: bool,
    user: Any,
    save_as: str = "",
    header: Sequence[str] = (),
) -> Job:
    """Start the job of a mapped draft of a record importer (and save its mapping as
    ``save_as`` in the same transaction); a dry run reads a second name of the upload, so
    the file stays for the import that may follow."""
    importer = get_importer(draft.kind)
    upload = second_name(draft.upload) if dry_run else draft.upload
    params = {
        "record_import": importer.kind,
        "upload": upload,
        "filename": draft.filename[:200],
        "business_unit_id": business_unit.pk,
        "source": draft.source,
        "channel": draft.channel,
        "dry_run": dry_run,
        "options": options.as_dict(),
        "kept_upload": draft.upload if dry_run else "",
    }
    try:
        with transaction.atomic():
            if save_as:
                save_mapping(
                    business_unit=business_unit,
                    name=save_as,
                    header=header,
                    options=options,
                    user=user,
                    kind=importer.kind,
                )
            return start_job(
                kind=importer.job_kind, params=params, user=user, business_unit=business_unit
            )
    except Exception:
        if dry_run:
            delete_upload(upload)
        raise
