"""The transaction import screens: upload, map the columns, dry run or import, the result.

1. ``transaction_import``: the upload (unit, source, default channel, file); the file is stored
   and its header row read, then the browser goes to the mapping step with a signed token.
2. ``transaction_import_map``: one select per known column, pre-filled from a saved mapping of
   the unit made for the same headers or from known header names; the number convention
   proposed from the data, the file's time zone (the unit's by default), the currency of a file
   without a currency column; a preview of the first rows as mapped. "Dry run" and "Import"
   start the import job with these options.
3. The job's own page (``job-detail``) includes ``crm/imports/_result.html``, served here while
   the job runs: the dry run's prediction, the rejected rows, every one of them as a download,
   and after a dry run "Import this file" (``transaction_import_confirm``) with the same options.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

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
    start_draft_import,
)
from crm.imports.inspect import Inspection
from crm.imports.template import template_csv, template_xlsx
from crm.models import BusinessUnit, ImportMapping, Job, JobStatus
from crm.normalizers import mask_identity
from crm.policy import get_visible_or_404
from crm.web.import_forms import (
    ColumnMappingForm,
    TransactionUploadForm,
    column_docs,
    column_label,
)

PREVIEW_ROWS = 8


@require_http_methods(["GET", "POST"])
@permission_required("crm.add_transaction", raise_exception=True)
def transaction_import(request: HttpRequest) -> HttpResponse:
    form = TransactionUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        stored = imports.store_upload(upload.chunks(), filename=upload.name)
        draft = ImportDraft(
            upload=stored,
            filename=upload.name[:200],
            business_unit_id=data["business_unit"].pk,
            source=data["source"],
            channel=data["channel"],
            user_id=request.user.pk,
        )
        try:
            inspect_draft(draft, sample_rows=1)
        except imports.ImportFileError as exc:
            imports.delete_upload(stored)
            form.add_error("file", exc.message)
        else:
            return redirect("transaction-import-map", token=draft.token())
    return render(
        request, "crm/imports/transaction_import.html", {"form": form, "columns": column_docs()}
    )


def _draft_or_none(request: HttpRequest, token: str) -> tuple[ImportDraft, BusinessUnit] | None:
    """The draft of this token if it is the user's, its unit visible and its file still
    stored; otherwise ``None`` with a message saying what to do."""
    try:
        draft = ImportDraft.from_token(token)
    except imports.ImportFileError as exc:
        messages.error(request, exc.message)
        return None
    if draft.user_id != request.user.pk:
        raise Http404
    unit = get_visible_or_404(BusinessUnit.objects, request.user, pk=draft.business_unit_id)
    if not draft.exists():
        messages.error(request, _("This file has been imported or has expired; upload it again."))
        return None
    return draft, unit


def _initial(header: list[str], unit: BusinessUnit, saved: ImportMapping | None) -> dict[str, Any]:
    """The form's first proposal: a saved mapping's choices, else the header names
    recognised, the unit's time zone and the number convention (set once the file is read)."""
    if saved is not None:
        mapping = column_mapping.headers_to_mapping(saved.mapping, header)
        initial: dict[str, Any] = saved.as_options()
    else:
        mapping = column_mapping.suggest_mapping(header)
        initial = {"time_zone": unit.time_zone, "currency": "CNY"}
    return initial | {f"col_{column}": index for column, index in mapping.items()}


# identity columns -> identity type: shown masked, like every personal identity on a screen
_MASKED_COLUMNS = {
    "mobile": "mobile",
    "email": "email",
    "wechat_unionid": "wechat_unionid",
    "customer_external_id": "external",
}


def _preview(mapping: dict[str, int], inspection: Inspection) -> dict[str, Any]:
    columns = [c for c in imports.COLUMNS if c in mapping]

    def shown(column: str, cells: list[str]) -> str:
        value = cells[mapping[column]] if mapping[column] < len(cells) else ""
        masked = _MASKED_COLUMNS.get(column)
        return mask_identity(masked, value) if masked and value else value

    return {
        "columns": [column_label(c) for c in columns],
        "rows": [[shown(c, cells) for c in columns] for cells in inspection.sample[:PREVIEW_ROWS]],
    }


@require_http_methods(["GET", "POST"])
@permission_required("crm.add_transaction", raise_exception=True)
def transaction_import_map(request: HttpRequest, token: str) -> HttpResponse:
    found = _draft_or_none(request, token)
    if found is None:
        return redirect("transaction-import")
    try:
        return _mapping_step(request, token, *found)
    except imports.ImportFileError as exc:  # the file went missing or cannot be read
        messages.error(request, exc.message)
        return redirect("transaction-import")


def _mapping_step(
    request: HttpRequest, token: str, draft: ImportDraft, unit: BusinessUnit
) -> HttpResponse:
    header = read_header(draft)
    saved = column_mapping.saved_mappings(business_unit=unit)
    chosen = next((m for m in saved if str(m.pk) == request.GET.get("mapping", "")), None)
    chosen = chosen or column_mapping.matching_mapping(saved, header)
    initial = _initial(header, unit, chosen)
    form = ColumnMappingForm(request.POST or None, header=header, initial=initial)
    # the file read as mapped now: the preview, the number convention's evidence, line-level
    inspection = inspect_draft(draft, mapping=form.mapping())
    evidence = column_mapping.propose_decimal_mark(inspection)
    if chosen is None:
        form.initial["decimal_mark"] = evidence.mark
    preview = _preview(form.mapping(), inspection)
    if request.htmx and request.method == "POST":
        return render(request, "crm/imports/_preview.html", {"preview": preview})
    action = request.POST.get("action")
    if request.method == "POST" and action in ("dry_run", "import") and form.is_valid():
        options = form.options()
        name = form.cleaned_data["save_as"] or (chosen.name if chosen else "")
        options = replace(
            options,
            extra={
                "mapping_name": name,
                "columns": [
                    [column_label(column), header[index]]
                    for column, index in (options.mapping or {}).items()
                ],
            },
        )
        dry_run = action == "dry_run"
        job = start_draft_import(
            draft=draft,
            business_unit=unit,
            options=options,
            dry_run=dry_run,
            user=request.user,
            save_as=form.cleaned_data["save_as"],
            header=header,
        )
        if dry_run:
            messages.success(request, _("Checking the file; nothing will be saved."))
        else:
            messages.success(request, _("Import started."))
        return redirect("job-detail", pk=job.pk)
    context = {
        "form": form,
        "draft": draft,
        "unit": unit,
        "inspection": inspection,
        "preview": preview,
        "saved_mappings": saved,
        "chosen_mapping": chosen,
        "evidence": evidence,
        "token": token,
    }
    return render(request, "crm/imports/transaction_map.html", context)


@require_POST
@permission_required("crm.add_transaction", raise_exception=True)
def transaction_import_confirm(request: HttpRequest, pk: str) -> HttpResponse:
    """ "Import this file" after a dry run: the same file, unit, source and options."""
    dry_run = get_visible_or_404(Job.objects, request.user, pk=pk, kind=imports.IMPORT_JOB_KIND)
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
@permission_required("crm.add_transaction", raise_exception=True)
def transaction_import_template(request: HttpRequest, fmt: str) -> HttpResponse:
    """An empty import file with the columns' headers in the page's language and example
    rows that import cleanly."""
    if fmt == "xlsx":
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        body = template_xlsx()
    else:
        content_type, body = "text/csv; charset=utf-8", template_csv()
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="transactions-template.{fmt}"'
    return response


@require_GET
@permission_required("crm.view_job", raise_exception=True)
def transaction_import_result(request: HttpRequest, pk: str) -> HttpResponse:
    """The result of an import job: the job page's section (polled by htmx until the job
    ends), or with ``?download=csv`` every rejected row as a CSV file."""
    job = get_visible_or_404(Job.objects, request.user, pk=pk, kind=imports.IMPORT_JOB_KIND)
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
        response = HttpResponse(
            imports.error_report_csv(errors), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    if not request.htmx:
        return redirect("job-detail", pk=job.pk)
    return render(request, "crm/imports/_result.html", {"job": job})
