"""The lead page: who and where it is (status, owner, pool, score, the matched customer and
its owner, the quarantine banner), its follow-ups and history, and what may be done with it
(follow up, qualify, lose with a reason, release, claim, assign, convert)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.errors import DomainError
from crm.middleware import client_ip
from leads import services
from leads.models import (
    AssignmentStrategy,
    FollowUp,
    FollowUpKind,
    Lead,
    LeadEvent,
    LeadKind,
    LeadStatus,
    LostReason,
)
from leads.services.reveal import reveal_lead_contact
from leads.web.common import (
    STATUS_COLORS,
    assignable_reps,
    lead_for,
    lead_url,
    masked,
    person,
    safe_next,
)
from leads.web.forms import (
    ConvertCompanyForm,
    ConvertPersonForm,
    FollowUpForm,
    LoseForm,
    add_domain_error,
)

HISTORY_ITEMS = 20


def _flags(user: Any, lead: Lead) -> dict[str, Any]:
    holder = lead.is_held and lead.owner_id == user.pk
    manager = services.may_manage(user, lead.business_unit_id)
    return {
        "is_holder": holder,
        "can_manage": manager,
        "can_work": holder or (manager and lead.is_held),
        "can_claim": lead.owner_id is None
        and lead.status == LeadStatus.NEW
        and not lead.quarantined
        and user.has_perm("leads.claim_lead"),
        "can_convert": lead.status == LeadStatus.QUALIFIED and (holder or manager),
    }


def _page_context(request: HttpRequest, lead: Lead, **forms: Any) -> dict[str, Any]:
    user = request.user
    flags = _flags(user, lead)
    follow_ups = list(
        FollowUp.objects.filter(lead=lead).select_related("author")[: HISTORY_ITEMS + 1]
    )
    events = list(
        LeadEvent.objects.filter(lead=lead).select_related(
            "actor", "from_owner", "to_owner", "from_pool", "to_pool"
        )[: HISTORY_ITEMS + 1]
    )
    convert_form = forms.get("convert_form")
    if convert_form is None and flags["can_convert"]:
        convert_form = (
            ConvertCompanyForm(initial={"opportunity_name": lead.company})
            if lead.kind == LeadKind.COMPANY
            else ConvertPersonForm()
        )
    return {
        "lead": lead,
        **flags,
        "status_color": STATUS_COLORS.get(lead.status, "secondary"),
        "phone": masked(lead.phone),
        "email": _mask_email(lead.email),
        "owner": person(lead.owner),
        "customer_owner": person(lead.customer_owner),
        "customer_url": reverse("customer-detail", args=[lead.customer_id])
        if lead.customer_id and user.has_perm("crm.view_customer")
        else "",
        "recycle_due": lead.recycle_due_at(),
        "follow_ups": follow_ups[:HISTORY_ITEMS],
        "more_follow_ups": len(follow_ups) > HISTORY_ITEMS,
        "events": [(e, _event_detail(e)) for e in events[:HISTORY_ITEMS]],
        "more_events": len(events) > HISTORY_ITEMS,
        "follow_up_form": forms.get("follow_up_form") or FollowUpForm(),
        "lose_form": forms.get("lose_form") or LoseForm(),
        "convert_form": convert_form,
        "reps": list(assignable_reps(lead.business_unit_id)) if flags["can_manage"] else [],
        "can_reveal": user.has_perm("crm.reveal_customer_pii"),
    }


_REASONS: dict[str, Any] = {
    **dict(FollowUpKind.choices),
    **dict(LostReason.choices),
    **dict(AssignmentStrategy.choices),
    "released": _lazy("released by hand"),
    "routing_rule": _lazy("routing rule"),
}


def _event_detail(event: LeadEvent) -> str:
    """The second line of a history entry: who to whom, which pools, why, the note."""
    parts = []
    if event.from_owner_id or event.to_owner_id:
        pool = str(_lazy("pool"))
        parts.append(f"{person(event.from_owner) or pool} → {person(event.to_owner) or pool}")
    if event.from_pool_id and event.to_pool_id and event.from_pool_id != event.to_pool_id:
        parts.append(f"{event.from_pool} → {event.to_pool}")
    if event.from_status and event.to_status and event.from_status != event.to_status:
        labels = dict(LeadStatus.choices)
        parts.append(
            f"{labels.get(event.from_status, event.from_status)} → "
            f"{labels.get(event.to_status, event.to_status)}"
        )
    if event.reason:
        parts.append(str(_REASONS.get(event.reason, event.reason)))
    if event.note:
        parts.append(event.note)
    return " · ".join(parts)


def _mask_email(email: str) -> str:
    if not email or "@" not in email:
        return ""
    name, domain = email.split("@", 1)
    return f"{name[:1]}***@{domain}"


@require_GET
@permission_required("leads.view_lead", raise_exception=True)
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_for(request.user, pk)
    return render(request, "leads/detail.html", _page_context(request, lead))


@require_http_methods(["GET", "POST"])
@permission_required("leads.add_followup", raise_exception=True)
def follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    """The quick follow-up form (htmx): on the lead page it re-renders the follow-ups section,
    on "my leads" (``compact=1``) the row's form cell."""
    lead = lead_for(request.user, pk)
    compact = request.GET.get("compact") == "1" or request.POST.get("compact") == "1"
    form = FollowUpForm(request.POST or None)
    saved = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.log_follow_up(
                lead=lead.pk,
                user=request.user,
                kind=data["kind"],
                outcome=data["outcome"],
                note=data["note"],
                next_step=data["next_step"],
                next_action_at=data["next_action_at"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            form = FollowUpForm()
            lead = lead_for(request.user, pk)
    if not request.htmx:
        if saved is not None:
            messages.success(request, _("Follow-up saved."))
            return redirect(safe_next(request, lead_url(lead)))
        return render(
            request, "leads/detail.html", _page_context(request, lead, follow_up_form=form)
        )
    if compact:
        return render(
            request,
            "leads/_follow_up_compact.html",
            {"lead": lead, "form": form, "saved": saved},
        )
    if saved is not None:  # the status, the dates and the history change too: reload
        messages.success(request, _("Follow-up saved."))
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(
        request, "leads/_follow_ups.html", _page_context(request, lead, follow_up_form=form)
    )


@require_POST
@permission_required("leads.view_lead", raise_exception=True)
def action(request: HttpRequest, pk: int) -> HttpResponse:
    """qualify, back to contacted, lose (with a reason), release, claim, assign (a manager)."""
    lead = lead_for(request.user, pk)
    verb = request.POST.get("action", "")
    user = request.user
    try:
        if verb == "qualify":
            services.qualify_lead(lead=lead.pk, user=user)
            messages.success(request, _("The lead is qualified: convert it when ready."))
        elif verb == "contacted":
            services.set_status(lead=lead.pk, user=user, status=LeadStatus.CONTACTED)
            messages.success(request, _("The lead is back to contacted."))
        elif verb == "lose":
            form = LoseForm(request.POST)
            if not form.is_valid():
                return render(
                    request, "leads/detail.html", _page_context(request, lead, lose_form=form)
                )
            try:
                services.lose_lead(
                    lead=lead.pk,
                    user=user,
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                return render(
                    request, "leads/detail.html", _page_context(request, lead, lose_form=form)
                )
            messages.success(request, _("The lead is closed as lost."))
        elif verb == "release":
            services.release_lead(lead=lead.pk, actor=user, note=request.POST.get("note", "")[:500])
            messages.success(request, _("The lead is back in its pool."))
        elif verb == "claim":
            if not user.has_perm("leads.claim_lead"):
                raise Http404
            services.claim_lead(lead=lead.pk, user=user)
            messages.success(request, _("You now hold this lead."))
        elif verb == "assign":
            raw = request.POST.get("rep", "")
            rep = (
                assignable_reps(lead.business_unit_id).filter(pk=int(raw)).first()
                if raw.isdigit()
                else None
            )
            if rep is None:
                messages.error(request, _("Choose the rep to assign the lead to."))
            else:
                services.assign_lead(lead=lead.pk, to_user=rep, actor=user)
                messages.success(
                    request, _("The lead is assigned to %(rep)s.") % {"rep": person(rep)}
                )
        else:
            messages.error(request, _("Choose an action."))
    except DomainError as exc:
        messages.error(request, exc.message)
    try:
        lead_for(user, pk)
    except Http404:  # released or assigned away: no longer in a rep's scope
        return redirect(reverse("leads:mine"))
    return redirect(lead_url(pk))


@require_POST
@permission_required("leads.claim_lead", raise_exception=True)
def convert(request: HttpRequest, pk: int) -> HttpResponse:
    """B2B: account + contact + opportunity; B2C: member. Linked to the matched customer."""
    lead = lead_for(request.user, pk)
    company = lead.kind == LeadKind.COMPANY
    form: Any = ConvertCompanyForm(request.POST) if company else ConvertPersonForm(request.POST)
    if form.is_valid():
        try:
            result = services.convert_lead(lead=lead.pk, user=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if result.account is not None:
                messages.success(
                    request,
                    _("Converted: the account, its contact and the opportunity are created."),
                )
                return redirect(reverse("accounts:detail", args=[result.account.pk]))
            messages.success(request, _("Converted: the customer is now a member."))
            return redirect(lead_url(pk))
    return render(request, "leads/detail.html", _page_context(request, lead, convert_form=form))


@require_POST
@permission_required("leads.view_lead", raise_exception=True)
def reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead's full contact details (audited), as an htmx fragment."""
    lead = lead_for(request.user, pk)
    try:
        shown = reveal_lead_contact(lead=lead, user=request.user, ip=client_ip(request))
    except DomainError as exc:
        return HttpResponse(exc.message, status=403)
    return render(request, "leads/_revealed.html", {"shown": shown, "lead": lead})
