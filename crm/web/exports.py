"""Starting an export of a list, following it, and downloading the file (its owner only)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm import exports
from crm.errors import DomainError
from crm.models import Job
from crm.policy import get_visible_or_404


@require_POST
def export_start(request: HttpRequest) -> HttpResponse:
    try:
        job = exports.start_export(
            user=request.user,
            list_key=request.POST.get("list_key", ""),
            query=request.POST.get("query", ""),
            file_format=request.POST.get("format", ""),
            reveal=request.POST.get("reveal") == "1",
        )
    except exports.UnknownExport as exc:
        raise Http404 from exc
    except exports.ExportRefused as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(request.headers.get("referer") or "home")
    messages.success(request, _("Export started; the file is ready to download here."))
    return redirect("job-detail", pk=job.pk)


def _own_export(request: HttpRequest, pk: str) -> Job:
    job = get_visible_or_404(Job.objects, request.user, pk=pk, kind=exports.EXPORT_JOB_KIND)
    if job.created_by_id != request.user.pk:  # an administrator sees the job, not the data
        raise Http404
    return job


@require_GET
@permission_required("crm.view_job", raise_exception=True)
def export_section(request: HttpRequest, pk: str) -> HttpResponse:
    """The job page's download section, polled by htmx until the export ends."""
    job = get_visible_or_404(Job.objects, request.user, pk=pk, kind=exports.EXPORT_JOB_KIND)
    return render(request, "crm/exports/_download.html", {"job": job})


@require_GET
def export_download(request: HttpRequest, pk: str) -> HttpResponse:
    job = _own_export(request, pk)
    path = exports.export_file(job)
    if path is None:
        raise Http404(
            _("This export is not ready, or was deleted after %(days)d days.")
            % {"days": exports.EXPORT_KEEP_DAYS}
        )
    file_format = path.suffix.lstrip(".")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=exports.export_download_name(job),
        content_type=exports.EXPORT_FORMATS[file_format],
    )
