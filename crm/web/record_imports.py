"""The import screens every importer uses: upload, map the columns, dry run or import, the
result.

An area lists its importers in a screens object and routes three thin views to ``upload``,
``map_columns`` and ``template``: a ``RecordImportScreens`` for the record importers
(``crm.imports.records``; see ``accounts.web.imports``), ``crm.web.imports.TRANSACTION_SCREENS``
for the transaction import, which overrides the steps where it asks more (source and channel on
upload; number convention, time zone and currency when mapping; its own job).

1. ``upload``: the unit, the file and what the screens' form asks (the kind); the file is stored
   and its header read, then the browser goes to the mapping step with a signed token.
2. ``map_columns``: one select per column, pre-filled from a saved mapping of the unit made for
   the same headers or from known header names; a preview of the first rows as mapped, the
   identities masked. "Dry run" and "Import" start the job with these options.
3. The job's page (``job-detail``) includes ``crm/imports/_result.html``, served by
   ``import_result`` while the job runs: the dry run's prediction, the rejected rows, every one
   of them as a download, and after a dry run "Import this file" (``import_confirm``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm import imports
from crm.imports import mapping as column_mapping
from crm.imports import reports
from crm.imports.drafts import (
    ImportAlreadyStarted,
    ImportDraft,
    ImportNotConfirmable,
    import_after_dry_run,
    inspect_draft,
    read_header,
)
from crm.imports.inspect import Inspection
from crm.imports.record_jobs import (
    get_importer,
    importer_of_job,
    record_importers,
    start_record_import,
)
from crm.imports.template import table_csv, table_xlsx
from crm.models import BusinessUnit, ImportMapping, Job, JobStatus
from crm.normalizers import mask_identity
from crm.policy import get_visible_or_404
from crm.web.import_forms import MappingForm, RecordUploadForm

PREVIEW_ROWS = 8
# columns holding a personal identity -> identity type: masked in the preview like everywhere
MASKED_COLUMNS = {
    "phone": "mobile",
    "mobile": "mobile",
    "email": "email",
    "wechat_unionid": "wechat_unionid",
    "customer_external_id": "external",
}
# The transaction import's job is no record importer's; the result and "Import this file"
# serve it the same way.
TRANSACTION_IMPORT_PERMISSIONS = ("crm.add_transaction",)
RECORD_INTRO = gettext_lazy(
    "The first row names the columns, in Chinese or in English. Each row is imported whole "
    "or not at all; rows with errors are reported with their line and column and the other "
    "rows are still imported. Importing the same file again changes nothing."
)


@dataclass(frozen=True)
class RecordImportScreens:
    """An area's import screens. ``importers`` are what the screens show of each kind:
    ``kind``, ``label``, ``columns`` (a ``ColumnSet``), ``permissions`` (a ``RecordImporter``
    is one)."""

    kinds: tuple[str, ...]
    upload_url: str  # URL names of the area's three views
    map_url: str
    template_url: str
    area: Any  # the upload page's pretitle, e.g. "B2B accounts"
    testid: str = "record-import"  # the upload form's test ids: <testid>-form, <testid>-submit
    intro: Any = RECORD_INTRO  # under the columns of the upload page
    show_source: bool = False  # the mapping step names the draft's source system

    def importer(self, kind: str) -> Any:
        return get_importer(kind)

    def importers(self, user: Any) -> list[Any]:
        found = [self.importer(kind) for kind in self.kinds]
        return [i for i in found if user.has_perms(i.permissions)]

    def template_href(self, kind: str, fmt: str) -> str:
        return reverse(self.template_url, args=[kind, fmt])

    # --- the steps an area may ask more in ------------------------------------------------

    def upload_form(self, request: HttpRequest, importers: list[Any]) -> forms.Form:
        return RecordUploadForm(
            request.POST or None,
            request.FILES or None,
            user=request.user,
            importers=importers,
            initial={"kind": request.GET.get("kind") or importers[0].kind},
        )

    def draft(self, data: dict[str, Any], *, stored: str, filename: str, user: Any) -> ImportDraft:
        return ImportDraft(
            upload=stored,
            filename=filename[:200],
            business_unit_id=data["business_unit"].pk,
            source="import",
            channel="",
            user_id=user.pk,
            kind=data["kind"],
        )

    def inspect(
        self, draft: ImportDraft, importer: Any, *, mapping: dict[str, int] | None = None
    ) -> Inspection:
        if mapping is None:
            return inspect_draft(draft, sample_rows=1, columns=importer.columns)
        return inspect_draft(draft, mapping=mapping, columns=importer.columns)

    def mapping_form(
        self,
        request: HttpRequest,
        *,
        header: list[str],
        importer: Any,
        unit: BusinessUnit,
        chosen: ImportMapping | None,
    ) -> MappingForm:
        initial = proposal_initial(header, importer.columns, chosen)
        return MappingForm(
            request.POST or None, header=header, columns=importer.columns, initial=initial
        )

    def mapping_context(
        self, form: MappingForm, inspection: Inspection, chosen: ImportMapping | None
    ) -> dict[str, Any]:
        """What the mapping page shows besides the columns (and may set on ``form``)."""
        return {}

    def start(self, **kwargs: Any) -> Job:
        return start_record_import(**kwargs)


def proposal_initial(
    header: list[str], columns: Any, chosen: ImportMapping | None
) -> dict[str, Any]:
    """``col_<column>`` initials: the saved mapping's choices, else the header names known."""
    if chosen is not None:
        proposal = column_mapping.headers_to_mapping(chosen.mapping, header, columns)
    else:
        proposal = column_mapping.suggest_mapping(header, columns)
    return {f"col_{column}": index for column, index in proposal.items()}


def upload(request: HttpRequest, screens: RecordImportScreens) -> HttpResponse:
    importers = screens.importers(request.user)
    if not importers:
        raise PermissionDenied
    form = screens.upload_form(request, importers)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        stored = imports.store_upload(file.chunks(), filename=file.name)
        draft = screens.draft(
            form.cleaned_data, stored=stored, filename=file.name, user=request.user
        )
        try:
            screens.inspect(draft, screens.importer(draft.kind))
        except imports.ImportFileError as exc:
            imports.delete_upload(stored)
            form.add_error("file", exc.message)
        else:
            return redirect(screens.map_url, token=draft.token())
    cards = [
        {
            "importer": i,
            "templates": [
                (fmt, label, screens.template_href(i.kind, fmt))
                for fmt, label in (("xlsx", _("Template (Excel)")), ("csv", _("Template (CSV)")))
            ],
        }
        for i in importers
    ]
    context = {"form": form, "screens": screens, "importers": importers, "cards": cards}
    return render(request, "crm/imports/upload.html", context)


def _draft(request: HttpRequest, token: str, screens: RecordImportScreens) -> Any:
    """The draft of this token if it is the user's, of these screens, its unit visible and
    its file still stored; otherwise ``None`` with a message saying what to do."""
    try:
        draft = ImportDraft.from_token(token)
    except imports.ImportFileError as exc:
        messages.error(request, exc.message)
        return None
    if draft.user_id != request.user.pk or draft.kind not in screens.kinds:
        raise Http404
    importer = screens.importer(draft.kind)
    if not request.user.has_perms(importer.permissions):
        raise PermissionDenied
    unit = get_visible_or_404(BusinessUnit.objects, request.user, pk=draft.business_unit_id)
    if not draft.exists():
        messages.error(request, _("This file has been imported or has expired; upload it again."))
        return None
    return draft, unit, importer


def map_columns(request: HttpRequest, token: str, screens: RecordImportScreens) -> HttpResponse:
    found = _draft(request, token, screens)
    if found is None:
        return redirect(screens.upload_url)
    draft, unit, importer = found
    try:
        return _mapping_step(request, token, screens, draft, unit, importer)
    except imports.ImportFileError as exc:  # the file went missing or cannot be read
        messages.error(request, exc.message)
        return redirect(screens.upload_url)


def _mapping_step(
    request: HttpRequest,
    token: str,
    screens: RecordImportScreens,
    draft: ImportDraft,
    unit: BusinessUnit,
    importer: Any,
) -> HttpResponse:
    columns = importer.columns
    header = read_header(draft)
    saved = column_mapping.saved_mappings(business_unit=unit, kind=importer.kind)
    chosen = next((m for m in saved if str(m.pk) == request.GET.get("mapping", "")), None)
    chosen = chosen or column_mapping.matching_mapping(saved, header)
    form = screens.mapping_form(request, header=header, importer=importer, unit=unit, chosen=chosen)
    # the file read as mapped now: the preview and what the screens judge from it
    inspection = screens.inspect(draft, importer, mapping=form.mapping())
    extra = screens.mapping_context(form, inspection, chosen)
    preview = _preview(form.mapping(), inspection.sample, columns)
    if request.htmx and request.method == "POST":
        return render(request, "crm/imports/_preview.html", {"preview": preview})
    action = request.POST.get("action")
    if request.method == "POST" and action in ("dry_run", "import") and form.is_valid():
        options = form.options()
        name = form.cleaned_data["save_as"] or (chosen.name if chosen else "")
        used = [[columns.label(c), header[i]] for c, i in (options.mapping or {}).items()]
        options = replace(options, extra={"mapping_name": name, "columns": used})
        job = screens.start(
            draft=draft,
            business_unit=unit,
            options=options,
            dry_run=action == "dry_run",
            user=request.user,
            save_as=form.cleaned_data["save_as"],
            header=header,
        )
        if action == "dry_run":
            messages.success(request, _("Checking the file; nothing will be saved."))
        else:
            messages.success(request, _("Import started."))
        return redirect("job-detail", pk=job.pk)
    context = {
        "form": form,
        "draft": draft,
        "unit": unit,
        "importer": importer,
        "screens": screens,
        "inspection": inspection,
        "preview": preview,
        "saved_mappings": saved,
        "chosen_mapping": chosen,
        "token": token,
        **extra,
    }
    return render(request, "crm/imports/map.html", context)


def _preview(mapping: dict[str, int], sample: list[list[str]], columns: Any) -> dict[str, Any]:
    shown_columns = [c for c in columns.columns if c in mapping]

    def shown(column: str, cells: list[str]) -> str:
        value = cells[mapping[column]] if mapping[column] < len(cells) else ""
        masked = MASKED_COLUMNS.get(column)
        return mask_identity(masked, value) if masked and value else value

    return {
        "columns": [columns.label(c) for c in shown_columns],
        "rows": [[shown(c, cells) for c in shown_columns] for cells in sample[:PREVIEW_ROWS]],
    }


def template(
    request: HttpRequest, kind: str, fmt: str, screens: RecordImportScreens
) -> HttpResponse:
    """The kind's template: headers in the page's language (Chinese names in Chinese), rows
    that import cleanly."""
    if kind not in screens.kinds or fmt not in ("csv", "xlsx"):
        raise Http404
    importer = screens.importer(kind)
    if not request.user.has_perms(importer.permissions):
        raise PermissionDenied
    headers, rows = importer.template_table(chinese=(get_language() or "").startswith("zh"))
    if fmt == "xlsx":
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        title = getattr(importer, "template_title", importer.label)  # the sheet's name
        body = table_xlsx(headers, rows, title=str(title))
    else:
        content_type, body = "text/csv; charset=utf-8", table_csv(headers, rows)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.{fmt}"'
    return response


def _job(request: HttpRequest, pk: str) -> tuple[Job, tuple[str, ...], Any]:
    """An import job the user sees: the job, what importing needs, its error report's key."""
    by_kind = {i.job_kind: i for i in record_importers().values()}
    kinds = [*by_kind, imports.IMPORT_JOB_KIND]
    job = get_visible_or_404(Job.objects, request.user, pk=pk, kind__in=kinds)
    importer = importer_of_job(job.kind)
    if importer is None:  # the transaction import
        return job, TRANSACTION_IMPORT_PERMISSIONS, None
    return job, importer.permissions, importer.key_label


@require_POST
def import_confirm(request: HttpRequest, pk: str) -> HttpResponse:
    """ "Import this file" after a dry run: the same file, unit and options."""
    dry_run, permissions, _key = _job(request, pk)
    if not request.user.has_perms(permissions):
        raise PermissionDenied
    try:
        job = import_after_dry_run(dry_run=dry_run, user=request.user)
    except ImportAlreadyStarted as exc:
        messages.info(request, exc.message)
        return redirect("job-detail", pk=exc.job.pk)
    except ImportNotConfirmable as exc:
        messages.error(request, exc.message)
        return redirect("job-detail", pk=dry_run.pk)
    messages.success(request, _("Import started."))
    return redirect("job-detail", pk=job.pk)


@require_GET
def import_result(request: HttpRequest, pk: str) -> HttpResponse:
    """The job page's result section (polled by htmx until the job ends), or with
    ``?download=csv`` every rejected row as a CSV file."""
    if not request.user.has_perm("crm.view_job"):
        raise PermissionDenied
    job, _permissions, key_label = _job(request, pk)
    if request.GET.get("download") == "csv":
        filename = f"import-errors-{job.pk}.csv"
        path = reports.report_path(job.pk)
        if job.status == JobStatus.SUCCEEDED and path.exists():
            return FileResponse(
                path.open("rb"),
                as_attachment=True,
                filename=filename,
                content_type="text/csv; charset=utf-8",
            )
        errors = (job.result or {}).get("errors", []) if job.status == JobStatus.SUCCEEDED else []
        body = imports.error_report_csv(errors, key_label=key_label)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    if not request.htmx:
        return redirect("job-detail", pk=job.pk)
    return render(request, "crm/imports/_result.html", {"job": job})
