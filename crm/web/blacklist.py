"""The blacklist's screens: the approvers' queue (pending proposals with their evidence,
approve / reject with a comment, the history), proposing a blacklisting from the customer's
360 view, proposing to lift it, and the approvers' home-page card. Four eyes are checked in
the services; these views only parse, authorize and render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import selectors, services
from crm.errors import DomainError
from crm.models import BlacklistEntry, BlacklistReason, BlacklistStatus, Customer
from crm.registry import WorkItem, WorkList
from crm.web.components import paginate

DECISIONS = {
    "approve": services.approve_blacklisting,
    "reject": services.reject_blacklisting,
    "approve_lifting": services.approve_lifting,
    "reject_lifting": services.reject_lifting,
}
DONE = {
    "approve": gettext_lazy("Blacklisting approved: the customer is blacklisted."),
    "reject": gettext_lazy("Blacklisting rejected."),
    "approve_lifting": gettext_lazy("Lifting approved: the customer is no longer blacklisted."),
    "reject_lifting": gettext_lazy("Lifting rejected: the blacklisting stays."),
}
HISTORY_SORTS = {"proposed": ("proposed_at", "id"), "-proposed": ("-proposed_at", "-id")}


@require_GET
@permission_required("crm.view_blacklistentry", raise_exception=True)
def blacklist_queue(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab", "pending")
    tab = tab if tab in ("pending", "history") else "pending"
    status = request.GET.get("status", "")
    status = status if status in BlacklistStatus.values else ""
    sort = request.GET.get("sort", "-proposed")
    sort = sort if sort in HISTORY_SORTS else "-proposed"
    if tab == "pending":
        entries = selectors.blacklist_queue()
    else:
        entries = selectors.blacklist_history(status or None).order_by(*HISTORY_SORTS[sort])
    return render(
        request,
        "crm/blacklist/queue.html",
        {
            "tab": tab,
            "page": paginate(request, entries, per_page=20),
            "status": status,
            "statuses": [(v, label) for v, label in BlacklistStatus.choices if v != "proposed"],
            "sort": sort,
            "can_approve": request.user.has_perm("crm.approve_blacklistentry"),
        },
    )


@require_POST
@permission_required("crm.approve_blacklistentry", raise_exception=True)
def blacklist_decide(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(BlacklistEntry, pk=pk)
    action = request.POST.get("action", "")
    decide = DECISIONS.get(action)
    error, status = "", 200
    if decide is None:
        error, status = _("Choose approve or reject."), 400
    else:
        try:
            entry = decide(entry=entry, user=request.user, comment=request.POST.get("comment", ""))
        except DomainError as exc:
            error, status = exc.message, exc.status
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, DONE[action])
        return redirect("blacklist-queue")
    entry = (
        BlacklistEntry.objects.select_related(
            "customer", "proposed_by", "decided_by", "lift_proposed_by", "lift_decided_by"
        )
        .filter(pk=entry.pk)
        .get()
    )
    context = {
        "entry": entry,
        "can_approve": True,
        "error": error,
        "done": "" if error else DONE[action],
        "comment": request.POST.get("comment", "") if error else "",
    }
    return render(request, "crm/blacklist/_entry.html", context, status=status)


@require_http_methods(["GET", "POST"])
@permission_required("crm.add_blacklistentry", raise_exception=True)
def blacklist_propose(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)
    error: DomainError | None = None
    if request.method == "POST":
        try:
            services.propose_blacklisting(
                customer=customer,
                user=request.user,
                reason=request.POST.get("reason", ""),
                evidence=request.POST.get("evidence", ""),
                scope_note=request.POST.get("scope_note", ""),
            )
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, _("Blacklisting proposed. Another approver must approve it."))
            return redirect("customer-detail", pk=customer.pk)
    return render(
        request,
        "crm/blacklist/propose.html",
        {
            "customer": customer,
            "open_entry": selectors.open_blacklist_entry(customer),
            "reasons": BlacklistReason.choices,
            "error": error,
            "values": request.POST,
        },
        status=error.status if error else 200,
    )


@require_POST
@permission_required("crm.add_blacklistentry", raise_exception=True)
def blacklist_lift(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(BlacklistEntry, pk=pk)
    try:
        services.propose_lifting(
            entry=entry, user=request.user, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Lifting proposed. Another approver must approve it."))
    return redirect("customer-detail", pk=entry.customer_id)


def banner_context(user: Any, customer: Customer) -> dict[str, Any]:
    """The 360 view's blacklist banner: the open entry (one query), and what this user may
    see and do with it (the evidence only for those who hold ``view_blacklistentry``)."""
    return {
        "blacklist": selectors.open_blacklist_entry(customer),
        "blacklist_evidence": user.has_perm("crm.view_blacklistentry"),
        "blacklist_can_propose": user.has_perm("crm.add_blacklistentry"),
        "blacklist_can_approve": user.has_perm("crm.approve_blacklistentry"),
    }


def pending_work(user: Any) -> WorkList:
    """The approvers' home card: pending proposals, the oldest first (two queries)."""
    pending = selectors.blacklist_queue()
    queue_url = reverse("blacklist-queue")
    items = [
        WorkItem(
            entry.customer.shown_name,
            queue_url,
            subtitle=entry.get_reason_display(),
            badge=entry.get_status_display(),
            badge_color="orange" if entry.status == BlacklistStatus.PROPOSED else "azure",
            when=entry.waiting_since,  # type: ignore[attr-defined]
            placeholder=entry.customer.name_is_generated,
        )
        for entry in pending[:5]
    ]
    return WorkList(
        items=items,
        total=pending.count() if len(items) == 5 else len(items),
        empty_text=_("No blacklist proposal waits for a decision."),
        see_all_url=queue_url,
        see_all_label=_("Open the blacklist queue"),
        icon="ban",
    )
