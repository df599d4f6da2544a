"""Web shell: dashboard, global search, business units, background jobs, language switch."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm import selectors, services
from crm.errors import DomainError
from crm.models import BusinessUnit, Job, JobStatus
from crm.money import format_count
from crm.policy import get_visible_or_404
from crm.registry import dashboard_cards, search_providers
from crm.selectors.jobs import job_figures, job_list_entries
from crm.web.components import paginate, sort_param

SEARCH_LIMIT_PER_PROVIDER = 8


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    cards = [
        {"card": card, "context": card.context(request.user)}
        for card in dashboard_cards(request.user, set(request.user.role_names()))
    ]
    return render(request, "crm/home.html", {"cards": cards})


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    groups = []
    if len(query) >= 1:
        for provider in search_providers(request.user):
            results = provider.search(request.user, query, SEARCH_LIMIT_PER_PROVIDER)
            groups.append({"provider": provider, "results": results})
    total = sum(len(g["results"]) for g in groups)
    template = "crm/_search_results.html" if request.htmx else "crm/search.html"
    return render(request, template, {"query": query, "groups": groups, "total": total})


@require_GET
@permission_required("crm.view_businessunit", raise_exception=True)
def business_unit_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    sort = sort_param(request, ["code", "name", "industry", "user_count"], "code")
    units = selectors.business_unit_list(user=request.user, query=query, order_by=sort)
    page = paginate(request, units)
    template = "crm/_business_unit_rows.html" if request.htmx else "crm/business_unit_list.html"
    return render(request, template, {"page": page, "query": query, "sort": sort})


@require_GET
@permission_required("crm.view_businessunit", raise_exception=True)
def business_unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_visible_or_404(BusinessUnit.objects, request.user, pk=pk)
    page = paginate(request, selectors.business_unit_members(unit=unit))
    return render(request, "crm/business_unit_detail.html", {"unit": unit, "page": page})


@require_GET
@permission_required("crm.view_job", raise_exception=True)
def job_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in JobStatus.values:
        status = ""
    page = paginate(request, job_list_entries(user=request.user, status=status))
    _describe_jobs(page.object_list)
    return render(
        request,
        "crm/job_list.html",
        {"page": page, "status": status, "statuses": JobStatus.choices},
    )


@require_GET
@permission_required("crm.view_job", raise_exception=True)
def job_detail(request: HttpRequest, pk: str) -> HttpResponse:
    job = get_visible_or_404(Job.objects, request.user, pk=pk)
    context = {"job": job, "can_cancel": job.can_be_cancelled_by(request.user)}
    return render(request, "crm/job_detail.html", context)


@require_GET
@permission_required("crm.view_job", raise_exception=True)
def job_progress(request: HttpRequest, pk: str) -> HttpResponse:
    """The progress component's partial, polled by htmx until the job finishes."""
    job = get_visible_or_404(Job.objects, request.user, pk=pk)
    return render(request, "components/progress.html", {"job": job})


@require_POST
@permission_required("crm.view_job", raise_exception=True)
def job_cancel(request: HttpRequest, pk: str) -> HttpResponse:
    job = get_visible_or_404(Job.objects, request.user, pk=pk)
    if not job.can_be_cancelled_by(request.user):
        raise PermissionDenied
    try:
        services.request_job_cancel(job=job)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Cancellation requested."))
    return redirect("job-detail", pk=job.pk)


@require_POST
@permission_required("crm.add_job", raise_exception=True)
def job_start_housekeeping(request: HttpRequest) -> HttpResponse:
    job = services.start_job(kind="crm.housekeeping", user=request.user)
    messages.success(request, _("Housekeeping started."))
    return redirect("job-detail", pk=job.pk)


@login_not_required
@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; a signed-in user keeps the choice on their profile."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or request.headers.get("referer") or reverse("home")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("home")
    response: HttpResponse = HttpResponseRedirect(next_url)
    if language not in dict(settings.LANGUAGES):
        messages.error(request, _("Unsupported language."))
        return response
    if request.user.is_authenticated:
        services.set_user_language(user=request.user, language=language)  # type: ignore[arg-type]
    translation.activate(language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=request.is_secure(),
        httponly=True,
    )
    return response


def context_for_units_card(user: Any) -> dict[str, Any]:
    return {"units": list(selectors.business_unit_list(user=user)[:6])}


def _describe_jobs(jobs: Any) -> None:
    """Display values of job list entries (the templates only print): figures grouped per
    language, the source's name, whether it was a dry run or rejected rows."""
    for job in jobs:
        job.figure_items = [(label, format_count(value)) for label, value in job_figures(job)]
        job.is_dry_run = job.dry_run == "true"
        job.source_name = selectors.source_label(job.source) if job.source else ""
        job.rejected_rows = (job.figures or {}).get("rejected") or 0


def context_for_jobs_card(user: Any) -> dict[str, Any]:
    """The user's last five jobs, told apart as the job list tells them (file, source,
    figures, outcome)."""
    jobs = list(job_list_entries(user=user)[:5])
    _describe_jobs(jobs)
    return {"jobs": jobs}


def context_for_team_card(user: Any) -> dict[str, Any]:
    return {"per_role": selectors.users_per_role()}
