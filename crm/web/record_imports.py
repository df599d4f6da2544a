"""The screens of the record importers (``crm.imports.records``), for an app to mount.

An app lists its importers in a ``RecordImportScreens`` and routes three thin views to
``upload``, ``map_columns`` and ``template`` (see ``accounts.web.imports``): the upload with
a kind selector, the mapping step (saved mappings per unit and kind, a preview with the
identities masked), the template per kind. The job's page shows the result
(``crm/imports/_record_result.html``, served by ``record_import_result``) and "Import this
file" after a dry run (``record_import_confirm``): those two are the crm's, under
``/imports/records/``, for every importer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
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
from crm.imports.record_jobs import (
    get_importer,
    importer_of_job,
    record_importers,
    start_record_import,
)
from crm.imports.records import RecordImporter
from crm.imports.template import table_csv, table_xlsx
from crm.models import BusinessUnit, Job, JobStatus
from crm.normalizers import mask_identity
from crm.policy import get_visible_or_404
from crm.web.record_import_forms import RecordMappingForm, RecordUploadForm

PREVIEW_ROWS = 8
# columns holding a personal identity: masked in the preview like everywhere on screen
MASKED_COLUMNS = {"phone": "mobile", "mobile": "mobile", "email": "email"}


@dataclass(frozen=True)
class RecordImportScreens:
    kinds: tuple[str, ...]
    upload_url: str  # URL names of the app's three views
    map_url: str
    template_url: str
    area: Any  # the page's pretitle, e.g. "B2B accounts"

    def importers(self, user: Any) -> list[RecordImporter]:
        found = [get_importer(kind) for kind in self.kinds]
        return [i for i in found if user.has_perms(i.permissions)]


def upload(request: HttpRequest, screens: RecordImportScreens) -> HttpResponse:
    importers = screens.importers(request.user)
    if not importers:
        raise PermissionDenied
    form = RecordUploadForm(
        request.POST or None,
        request.FILES or None,
        user=request.user,
        importers=importers,
        initial={"kind": request.GET.get("kind") or importers[0].kind},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        file = data["file"]
        stored = imports.store_upload(file.chunks(), filename=file.name)
        draft = ImportDraft(
            upload=stored,
            filename=file.name[:200],
            business_unit_id=data["business_unit"].pk,
            source="import",
            channel="",
            user_id=request.user.pk,
            kind=data["kind"],
        )
        try:
            inspect_draft(draft, sample_rows=1, columns=get_importer(draft.kind).columns)
        except imports.ImportFileError as exc:
            imports.delete_upload(stored)
            form.add_error("file", exc.message)
        else:
            return redirect(screens.map_url, token=draft.token())
    context = {"form": form, "screens": screens, "importers": importers}
    return render(request, "crm/imports/record_upload.html", context)


def _draft(request: HttpRequest, token: str, screens: RecordImportScreens) -> Any:
    try:
        draft = ImportDraft.from_token(token)
    except imports.ImportFileError as exc:
        messages.error(request, exc.message)
        return None
    if draft.user_id != request.user.pk or draft.kind not in screens.kinds:
        raise Http404
    importer = get_importer(draft.kind)
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
    except imports.ImportFileError as exc:
        messages.error(request, exc.message)
        return redirect(screens.upload_url)


def _mapping_step(
    request: HttpRequest,
    token: str,
    screens: RecordImportScreens,
    draft: ImportDraft,
    unit: BusinessUnit,
    importer: RecordImporter,
) -> HttpResponse:
    columns = importer.columns
    header = read_header(draft)
    saved = column_mapping.saved_mappings(business_unit=unit, kind=importer.kind)
    chosen = next((m for m in saved if str(m.pk) == request.GET.get("mapping", "")), None)
    chosen = chosen or column_mapping.matching_mapping(saved, header)
    if chosen is not None:
        proposal = column_mapping.headers_to_mapping(chosen.mapping, header, columns)
    else:
        proposal = column_mapping.suggest_mapping(header, columns)
    initial = {f"col_{column}": index for column, index in proposal.items()}
    form = RecordMappingForm(request.POST or None, header=header, columns=columns, initial=initial)
    inspection = inspect_draft(draft, mapping=form.mapping(), columns=columns)
    preview = _preview(form.mapping(), inspection.sample, importer)
    if request.htmx and request.method == "POST":
        return render(request, "crm/imports/_preview.html", {"preview": preview})
    action = request.POST.get("action")
    if request.method == "POST" and action in ("dry_run", "import") and form.is_valid():
        options = form.options()
        name = form.cleaned_data["save_as"] or (chosen.name if chosen else "")
        used = [[columns.label(c), header[i]] for c, i in (options.mapping or {}).items()]
        options = replace(options, extra={"mapping_name": name, "columns": used})
        job = start_record_import(
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
    }
    return render(request, "crm/imports/record_map.html", context)


def _preview(
    mapping: dict[str, int], sample: list[list[str]], importer: RecordImporter
) -> dict[str, Any]:
    columns = [c for c in importer.columns.columns if c in mapping]

    def shown(column: str, cells: list[str]) -> str:
        value = cells[mapping[column]] if mapping[column] < len(cells) else ""
        masked = MASKED_COLUMNS.get(column)
        return mask_identity(masked, value) if masked and value else value

    return {
        "columns": [importer.columns.label(c) for c in columns],
        "rows": [[shown(c, cells) for c in columns] for cells in sample[:PREVIEW_ROWS]],
    }


def template(
    request: HttpRequest, kind: str, fmt: str, screens: RecordImportScreens
) -> HttpResponse:
    """The kind's template: headers in the page's language (Chinese names in Chinese), rows
    that import cleanly."""
    if kind not in screens.kinds or fmt not in ("csv", "xlsx"):
        raise Http404
    importer = get_importer(kind)
    if not request.user.has_perms(importer.permissions):
        raise PermissionDenied
    headers, rows = importer.template_table(chinese=(get_language() or "").startswith("zh"))
    if fmt == "xlsx":
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        body = table_xlsx(headers, rows, title=str(importer.label))
    else:
        content_type, body = "text/csv; charset=utf-8", table_csv(headers, rows)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.{fmt}"'
    return response


def _job(request: HttpRequest, pk: str) -> tuple[Job, RecordImporter]:
    kinds = [i.job_kind for i in record_importers().values()]
    job = get_visible_or_404(Job.objects, request.user, pk=pk, kind__in=kinds)
    importer = importer_of_job(job.kind)
    assert importer is not None
    return job, importer


@require_POST
def record_import_confirm(request: HttpRequest, pk: str) -> HttpResponse:
    """ "Import this file" after a dry run: the same file, unit and mapping."""
    dry_run, importer = _job(request, pk)
    if not request.user.has_perms(importer.permissions):
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
def record_import_result(request: HttpRequest, pk: str) -> HttpResponse:
    """The job page's result section (polled while the job runs), or with
    ``?download=csv`` every rejected row."""
    if not request.user.has_perm("crm.view_job"):
        raise PermissionDenied
    job, importer = _job(request, pk)
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
        body = imports.error_report_csv(errors, key_label=importer.key_label)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    if not request.htmx:
        return redirect("job-detail", pk=job.pk)
    return render(request, "crm/imports/_record_result.html", {"job": job})
