"""Marketing's campaign screens: the list (search, status and unit filters, sort, pages),
the campaign page (status moves after a confirmation, budget used, audience size, templates,
trigger rules, bulk issue to the audience with its progress), the create and edit form.
Views parse, authorize and render; services decide."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns import selectors, services
from campaigns.models import Campaign, CampaignStatus, CouponTemplate
from campaigns.web.desk import _units
from campaigns.web.forms import CampaignForm
from crm.errors import DomainError
from crm.policy import get_visible_or_404
from crm.web.components import paginate

# What each move is called on its button and asked in its confirmation.
MOVES: dict[str, tuple[Any, Any]] = {
    CampaignStatus.SCHEDULED: (
        gettext_lazy("Schedule"),
        gettext_lazy("Schedule this campaign? It can still go back to draft before it starts."),
    ),
    CampaignStatus.ACTIVE: (
        gettext_lazy("Start"),
        gettext_lazy(
            "Start this campaign? On the first start its target segment's members are "
            "frozen as its audience."
        ),
    ),
    CampaignStatus.PAUSED: (
        gettext_lazy("Pause"),
        gettext_lazy("Pause this campaign? Nothing is issued while paused."),
    ),
    CampaignStatus.ENDED: (
        gettext_lazy("End"),
        gettext_lazy("End this campaign? An ended campaign cannot restart."),
    ),
    CampaignStatus.DRAFT: (
        gettext_lazy("Back to draft"),
        gettext_lazy("Return this campaign to draft?"),
    ),
}


def _campaigns() -> Any:
    return Campaign.objects.select_related(
        "business_unit", "owner", "target_segment", "audience_snapshot"
    )


@require_GET
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    status = status if status in CampaignStatus.values else ""
    units = _units(request.user)
    unit = next((u for u in units if str(u.pk) == request.GET.get("unit", "")), None)
    sort = request.GET.get("sort", "-starts")
    if sort not in selectors.CAMPAIGN_SORTS:
        sort = "-starts"
    rows = selectors.campaign_list(
        user=request.user,
        query=query,
        status=status,
        unit_id=unit.pk if unit else None,
        sort=sort,
    )
    context = {
        "page": paginate(request, rows),
        "q": query,
        "status": status,
        "unit": unit,
        "units": units,
        "statuses": CampaignStatus.choices,
        "sort": sort,
        "filtered": bool(query or status or unit),
    }
    return render(request, "campaigns/campaign_list.html", context)


@require_GET
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_visible_or_404(_campaigns(), request.user, pk=pk)
    summary = selectors.campaign_summary(campaign)
    moves = [(s, *MOVES[s]) for s in campaign.allowed_statuses()]
    used = min(100, round(100 * campaign.issued_value / campaign.budget)) if campaign.budget else 0
    context = {
        "campaign": campaign,
        "summary": summary,
        "moves": moves,
        "used": used,
        "remaining": campaign.budget - campaign.issued_value,
        "can_issue": campaign.status == CampaignStatus.ACTIVE and campaign.audience_frozen,
        "latest_job": summary.bulk_issues[0].job if summary.bulk_issues else None,
    }
    return render(request, "campaigns/campaign_detail.html", context)


def _editor(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    form = CampaignForm(request.POST or None, instance=campaign or Campaign(), user=request.user)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        if campaign is None:
            saved.owner = request.user
        saved.save()
        messages.success(request, _("Campaign “%(name)s” saved.") % {"name": saved.name})
        return redirect("campaigns:campaign-detail", pk=saved.pk)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})


@require_http_methods(["GET", "POST"])
@permission_required("campaigns.add_campaign", raise_exception=True)
def campaign_create(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@require_http_methods(["GET", "POST"])
@permission_required("campaigns.change_campaign", raise_exception=True)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_visible_or_404(_campaigns(), request.user, pk=pk)
    if campaign.status == CampaignStatus.ENDED:
        messages.error(request, _("An ended campaign cannot be edited."))
        return redirect("campaigns:campaign-detail", pk=campaign.pk)
    return _editor(request, campaign)


@require_POST
@permission_required("campaigns.change_campaign", raise_exception=True)
def campaign_move(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_visible_or_404(_campaigns(), request.user, pk=pk)
    try:
        moved = services.change_campaign_status(
            campaign=campaign, status=request.POST.get("status", ""), user=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Campaign “%(name)s” is now %(status)s.")
            % {"name": moved.name, "status": moved.get_status_display()},
        )
    return redirect("campaigns:campaign-detail", pk=campaign.pk)


@require_POST
@permission_required("campaigns.issue_coupon", raise_exception=True)
def campaign_issue(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_visible_or_404(_campaigns(), request.user, pk=pk)
    template = CouponTemplate.objects.filter(
        pk=request.POST.get("template") or 0, business_unit_id=campaign.business_unit_id
    ).first()
    if template is None:
        messages.error(request, _("Choose a template of the campaign's issuing unit."))
        return redirect("campaigns:campaign-detail", pk=campaign.pk)
    try:
        services.start_audience_issue(campaign=campaign, template=template, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Issuing “%(template)s” to the campaign's audience: follow the progress below.")
            % {"template": template.name},
        )
    return redirect("campaigns:campaign-detail", pk=campaign.pk)


@require_GET
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_results(request: HttpRequest, pk: int) -> HttpResponse:
    """The campaign's results: three charts and the same figures as tables."""
    campaign = get_visible_or_404(
        Campaign.objects.select_related("business_unit"), request.user, pk=pk
    )
    results = selectors.campaign_results(campaign)
    context = {
        "campaign": campaign,
        "results": results,
        "days_data": [
            {
                "day": d.day.isoformat(),
                "issued": d.issued,
                "redeemed": d.redeemed,
                "discount": str(d.discount),
            }
            for d in results.days
        ],
        "templates_data": [
            {"name": t.name, "issued": t.issued, "redeemed": t.redeemed, "rate": round(t.rate, 1)}
            for t in results.templates
        ],
        "settlements_data": [
            {"source": s.debtor, "target": s.creditor, "amount": str(s.amount)}
            for s in results.settlements
        ],
    }
    return render(request, "campaigns/campaign_results.html", context)
