"""The member desk: one search box, the member page (summary, lots, ledger), adjusting
points, enrolling, freezing. Views parse, authorize and render; services decide."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.errors import DomainError
from crm.middleware import client_ip
from crm.models import Customer
from crm.registry import SearchResult
from crm.selectors import is_identity_query, may_reveal
from crm.services import IdentityInput, record_pii_search
from members import services
from members.models import AdjustmentProposal, EntryKind, Member
from members.numbers import clean_number, is_valid_number
from members.selectors.desk import desk_member, desk_search, member_page
from members.web.forms import AdjustForm, EnrolForm, StatusForm

# The reasons the services write as codes, shown in the ledger in words.
REASON_LABELS = {
    "purchase": gettext_lazy("Purchase"),
    "first": gettext_lazy("First purchase in this unit (bonus)"),
    "enrolment": gettext_lazy("Enrolment bonus"),
    "order cancelled": gettext_lazy("Order cancelled"),
    "expired": gettext_lazy("Expired"),
}


@require_GET
@permission_required("members.view_member", raise_exception=True)
def desk(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    found = desk_search(user=request.user, query=query)
    if found.audit:  # a fragment inside phones: recorded like a reveal
        record_pii_search(
            user=request.user,
            query=query,
            kind=found.audit,
            customers=[row.member.customer for row in found.rows],
            ip=client_ip(request),
        )
    template = "members/_search_results.html" if request.htmx else "members/desk.html"  # type: ignore[attr-defined]
    return render(request, template, {"query": query, "found": found})


def search_provider(user: Any, query: str, limit: int) -> list[SearchResult]:
    """The global search's members: the desk's search rule (member number or QR value, a
    full phone or its last four digits, 1–2 characters of a name, a WeChat id), the phone
    masked. A fragment inside phones is recorded like a reveal. A phone or e-mail search of a
    user who may not reveal (a member number is not one) is left to the customers' provider,
    which counts it against the hourly limit (counted once, not twice)."""
    number = is_valid_number(clean_number(query))
    if is_identity_query(query) and not may_reveal(user) and not number:
        return []
    found = desk_search(user=user, query=query[:100], limit=limit)
    if found.audit and found.rows:
        record_pii_search(
            user=user,
            query=query,
            kind=found.audit,
            customers=[row.member.customer for row in found.rows],
        )
    return [
        SearchResult(
            title=row.member.customer.display_name,
            url=reverse("members:member", args=[row.member.pk]),
            subtitle=" · ".join(
                part
                for part in (row.member.level.name if row.member.level else "", row.phone_masked)
                if part
            ),
            badge=row.member.number,
        )
        for row in found.rows
    ]


def _member_or_404(request: HttpRequest, pk: int) -> Member:
    member = desk_member(user=request.user, pk=pk)
    if member is None:
        raise Http404
    return member


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@require_GET
@permission_required("members.view_member", raise_exception=True)
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(request, pk)
    if member.merged_into_id:
        messages.info(request, _("This membership was merged into another one."))
        return redirect("members:member", pk=member.merged_into_id)
    kinds = [k for k in request.GET.getlist("kind") if k in EntryKind.values]
    unit = _int(request.GET.get("unit"))
    page = member_page(
        member=member, kinds=kinds, business_unit=unit, after=request.GET.get("after", "")
    )
    context = {
        "page": page,
        "member": member,
        "kinds": EntryKind.choices,
        "reason_labels": REASON_LABELS,
        "kind": kinds[0] if kinds else "",
        "unit": unit,
        "adjust_form": AdjustForm(user=request.user),
        "can_adjust": request.user.has_perm("members.adjust_points"),
        "can_freeze": request.user.has_perm("members.freeze_member"),
        "can_reveal": request.user.has_perm("crm.reveal_customer_pii"),
    }
    if request.htmx and request.GET.get("part") == "ledger":  # type: ignore[attr-defined]
        return render(request, "members/_ledger.html", context)
    return render(request, "members/member.html", context)


@require_POST
@permission_required("members.view_member", raise_exception=True)
def member_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(request, pk)
    form = AdjustForm(request.POST, user=request.user)
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else error)
        return redirect("members:member", pk=member.pk)
    data = form.cleaned_data
    expires_at = None
    if data.get("expires_on"):
        expires_at = timezone.make_aware(datetime.combine(data["expires_on"], time.max))
    try:
        done = services.adjust_points(
            member=member,
            business_unit=data["business_unit"],
            points=data["points"],
            reason=data["reason"],
            user=request.user,
            expires_at=expires_at,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("members:member", pk=member.pk)
    if isinstance(done, AdjustmentProposal):
        messages.warning(
            request,
            _(
                "%(points)+d points is above the %(limit)d-point limit: the adjustment waits "
                "for a second person's approval."
            )
            % {"points": done.points, "limit": _threshold()},
        )
    else:
        messages.success(
            request,
            _("%(points)+d points adjusted. Balance: %(balance)d.")
            % {"points": done.points, "balance": done.balance},
        )
    return redirect("members:member", pk=member.pk)


def _threshold() -> int:
    from members.models import ProgramSettings

    return ProgramSettings.current().adjustment_approval_threshold


@require_POST
@permission_required("members.freeze_member", raise_exception=True)
def member_status(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(request, pk)
    form = StatusForm(request.POST)
    action = request.POST.get("action")
    change = {"freeze": services.freeze_member, "unfreeze": services.unfreeze_member}.get(
        action or ""
    )
    if change is None or not form.is_valid():
        messages.error(request, _("Say why the membership is frozen or unfrozen."))
        return redirect("members:member", pk=member.pk)
    try:
        change(member=member, user=request.user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Membership frozen.") if action == "freeze" else _("Membership unfrozen."),
        )
    return redirect("members:member", pk=member.pk)


@require_http_methods(["GET", "POST"])
@permission_required("members.add_member", raise_exception=True)
def enrol(request: HttpRequest) -> HttpResponse:
    customer = None
    customer_id = _int(request.POST.get("customer") or request.GET.get("customer"))
    if customer_id:
        customer = Customer.objects.visible_to(request.user).live().filter(pk=customer_id).first()
        if customer is None:
            raise Http404
    form = EnrolForm(
        request.POST or None,
        user=request.user,
        initial={"customer": customer_id, "phone": request.GET.get("phone", "")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        identities = []
        if customer is None:
            identities = [IdentityInput("mobile", data["phone"].strip())]
        attributes = {"display_name": data["name"].strip()} if data.get("name", "").strip() else {}
        try:
            enrolment = services.enrol_member(
                business_unit=data["business_unit"],
                channel=data["channel"],
                customer=customer,
                identities=identities or None,
                attributes=attributes,
                actor=request.user,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            member = enrolment.member
            if enrolment.created:
                messages.success(
                    request, _("Enrolled: member number %(number)s.") % {"number": member.number}
                )
            else:
                messages.info(
                    request,
                    _("Already a member (number %(number)s): here is the membership.")
                    % {"number": member.number},
                )
            return redirect("members:member", pk=member.pk)
    return render(request, "members/enrol.html", {"form": form, "customer": customer})


def member_url(member: Member) -> str:
    return reverse("members:member", args=[member.pk])


def panel_context(user: Any, customer: Any) -> dict[str, Any]:
    from members.selectors.desk import member_panel

    return member_panel(user=user, customer=customer)
