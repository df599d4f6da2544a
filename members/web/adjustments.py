"""Large adjustments waiting for a second approver (four eyes in the service), and the home
cards of the member desk."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.errors import DomainError
from crm.registry import WorkItem, WorkList
from crm.web.components import paginate
from members import services
from members.selectors.desk import pending_adjustments, recent_members
from members.web.forms import DecisionForm


@require_GET
@permission_required("members.view_adjustmentproposal", raise_exception=True)
def adjustment_queue(request: HttpRequest) -> HttpResponse:
    page = paginate(request, pending_adjustments(user=request.user), per_page=20)
    return render(
        request,
        "members/adjustments.html",
        {"page": page, "can_decide": request.user.has_perm("members.approve_adjustment")},
    )


@require_POST
@permission_required("members.approve_adjustment", raise_exception=True)
def adjustment_decide(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = pending_adjustments(user=request.user).filter(pk=pk).first()
    form = DecisionForm(request.POST)
    if proposal is None or not form.is_valid():
        messages.error(request, _("This adjustment no longer waits for a decision."))
        return redirect("members:adjustments")
    comment = form.cleaned_data.get("comment", "")
    try:
        if form.cleaned_data["decision"] == "approve":
            services.approve_adjustment(proposal=proposal, user=request.user, comment=comment)
            messages.success(request, _("Adjustment approved and applied."))
        else:
            services.reject_adjustment(proposal=proposal, user=request.user, comment=comment)
            messages.success(request, _("Adjustment rejected."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("members:adjustments")


def pending_work(user: Any) -> WorkList:
    """Approvers' card: large adjustments waiting, oldest first (two queries at most)."""
    pending = pending_adjustments(user=user)
    url = reverse("members:adjustments")
    items = [
        WorkItem(
            f"{p.member.number} · {p.member.customer.shown_name}",
            reverse("members:member", args=[p.member_id]),
            subtitle=f"{p.points:+d} · {p.reason}",
            badge=p.business_unit.code,
            badge_color="orange",
            when=p.proposed_at,
        )
        for p in pending[:5]
    ]
    return WorkList(
        items=items,
        total=pending.count() if len(items) == 5 else len(items),
        empty_text=_("No points adjustment waits for approval."),
        see_all_url=url,
        see_all_label=_("Open the adjustments queue"),
        icon="gift",
    )


def recent_work(user: Any) -> WorkList:
    """The desk's card: the latest enrolments (one query)."""
    rows = recent_members(user=user)
    return WorkList(
        items=[
            WorkItem(
                f"{m.number} · {m.customer.shown_name}",
                reverse("members:member", args=[m.pk]),
                subtitle=m.level.name if m.level_id else "",
                badge=m.get_status_display(),
                badge_color="green" if m.is_active else "secondary",
                when=m.enrolled_at,
                placeholder=m.customer.name_is_generated,
            )
            for m in rows
        ],
        total=None,
        empty_text=_("No member enrolled yet."),
        see_all_url=reverse("members:desk"),
        see_all_label=_("Open the member desk"),
        icon="id",
    )
