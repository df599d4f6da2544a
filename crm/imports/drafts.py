"""An import between its upload and its job: the stored file and what the form said.

The upload step stores the file (``store_upload``) and hands the mapping step a signed token
(``ImportDraft.token()``) instead of keeping state on the server; the mapping step inspects
the file (``inspect_draft``) and starts the job (``start_draft_import``). A dry run works on
a second name of the stored file (``second_name``), so the upload stays for the real import
that may follow (``import_after_dry_run``); housekeeping purges uploads nobody imported.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.core import signing
from django.db import transaction
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.imports.columns import ColumnSet
from crm.imports.files import ImportFileError, cell_text, read_table
from crm.imports.inspect import Inspection, inspect_table
from crm.imports.mapping import save_mapping
from crm.imports.options import ImportOptions
from crm.imports.running import IMPORT_JOB_KIND, delete_upload, upload_path, uploads_dir
from crm.models import BusinessUnit, Job, JobStatus
from crm.services import start_job

_SALT = "crm.imports.draft"
DRAFT_MAX_AGE = 2 * 24 * 3600  # as long as housekeeping keeps an upload nobody imported
SAMPLE_ROWS = 200


@dataclass(frozen=True)
class ImportDraft:
    upload: str
    filename: str
    business_unit_id: int
    source: str
    channel: str
    user_id: int
    kind: str = "transactions"  # the importer (``crm.imports.records``) reading the file

    def token(self) -> str:
        return signing.dumps(asdict(self), salt=_SALT, compress=True)

    @classmethod
    def from_token(cls, token: str) -> ImportDraft:
        try:
            data = signing.loads(token, salt=_SALT, max_age=DRAFT_MAX_AGE)
            return cls(**data)
        except (signing.BadSignature, TypeError) as exc:
            raise ImportFileError(
                _("This import has expired or its link is damaged; upload the file again.")
            ) from exc

    def exists(self) -> bool:
        try:
            return upload_path(self.upload).exists()
        except ImportFileError:
            return False


def read_header(draft: ImportDraft) -> list[str]:
    """The header row of the draft's stored file (nothing else is read)."""
    try:
        path = upload_path(draft.upload)
        with path.open("rb") as stream:
            table = read_table(stream, filename=draft.filename, size=path.stat().st_size)
            return [cell_text(cell) for cell in table.header]
    except FileNotFoundError as exc:
        raise ImportFileError(_("The uploaded file is missing; upload it again.")) from exc


def inspect_draft(
    draft: ImportDraft,
    *,
    mapping: dict[str, int] | None = None,
    sample_rows: int = SAMPLE_ROWS,
    columns: ColumnSet | None = None,
) -> Inspection:
    """What the draft's stored file shows (``crm.imports.inspect_table``) read with
    ``mapping`` (``None``: the header names recognised)."""
    try:
        path = upload_path(draft.upload)
        with path.open("rb") as stream:
            table = read_table(stream, filename=draft.filename, size=path.stat().st_size)
            options = ImportOptions(mapping=mapping) if mapping is not None else None
            return inspect_table(table, options=options, sample_rows=sample_rows, columns=columns)
    except FileNotFoundError as exc:
        raise ImportFileError(_("The uploaded file is missing; upload it again.")) from exc


def second_name(upload: str) -> str:
    """Another stored name for the same upload (a hard link, or a copy where links fail):
    a job deletes the name it was given and the other one stays."""
    source = upload_path(upload)
    name = f"{uuid.uuid4().hex}{source.suffix}"
    target = uploads_dir() / name
    try:
        os.link(source, target)
    except FileNotFoundError as exc:
        raise ImportFileError(_("The uploaded file is missing; upload it again.")) from exc
    except OSError:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as copy, source.open("rb") as original:
            shutil.copyfileobj(original, copy)
    return name


def start_draft_import(
    *,
    draft: ImportDraft,
    business_unit: BusinessUnit,
    options: ImportOptions,
    dry_run: bool,
    user: Any,
    save_as: str = "",
    header: Sequence[str] = (),
    job_kind: str = IMPORT_JOB_KIND,
    params: dict[str, Any] | None = None,
) -> Job:
    """Start the import job (``job_kind``: the transaction import's unless a record importer
    names its own, with its ``params``) of a mapped draft, and save its mapping as ``save_as``
    for the draft's kind in the same transaction. A dry run reads a second name of the stored
    file, so the upload stays for the import that may follow it."""
    upload = second_name(draft.upload) if dry_run else draft.upload
    params = {
        **(params or {}),
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
                    kind=draft.kind,
                )
            return start_job(kind=job_kind, params=params, user=user, business_unit=business_unit)
    except Exception:
        if dry_run:
            delete_upload(upload)
        raise


class ImportNotConfirmable(DomainError):
    code = "import_not_confirmable"


class ImportAlreadyStarted(DomainError):
    code = "import_already_started"
    status = 409

    def __init__(self, message: str, *, job: Job) -> None:
        super().__init__(message)
        self.job = job


def import_after_dry_run(*, dry_run: Job, user: Any) -> Job:
    """Start the real import of a finished dry run: the same file (its kept upload), unit,
    source, channel and options (of any importer: the job keeps the dry run's kind). Once
    per dry run: the dry run's row is locked while the import already started for its file
    is looked for."""
    with transaction.atomic():
        dry_run = Job.objects.select_for_update().get(pk=dry_run.pk)
        params = dict(dry_run.params)
        kept = params.get("kept_upload") or ""
        if not (params.get("dry_run") and dry_run.status == JobStatus.SUCCEEDED and kept):
            raise ImportNotConfirmable(_("Only a finished dry run can be imported from here."))
        started = Job.objects.filter(kind=dry_run.kind, params__upload=kept).first()
        if started is not None:
            raise ImportAlreadyStarted(
                _("This file's import has already been started."), job=started
            )
        try:
            exists = upload_path(kept).exists()
        except ImportFileError:
            exists = False
        if not exists:
            raise ImportNotConfirmable(_("The file has expired meanwhile; upload it again."))
        params.pop("_language", None)
        params.update(upload=kept, kept_upload="", dry_run=False, dry_run_job=str(dry_run.pk))
        return start_job(
            kind=dry_run.kind,
            params=params,
            user=user,
            business_unit=dry_run.business_unit,
        )
