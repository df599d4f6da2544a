"""An opportunity's page (its fields, the contacts involved, the stage history, the move form,
editing) and the form creating one; the reps' "closing soon" home card."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import selectors, services
from accounts.models import Account, Contact, Opportunity, OpportunityStage
from accounts.services.opportunities import OPPORTUNITY_FIELDS
from accounts.web.opportunities_forms import CreateOpportunityForm, OpportunityForm
from crm.errors import DomainError
from crm.models import BusinessUnit
from crm.policy import get_visible_or_404, visible_unit_ids
from crm.registry import WorkItem, WorkList

CHOICES_SHOWN = 30


@require_http_methods(["GET", "POST"])
@permission_required("accounts.view_opportunity", raise_exception=True)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_visible_or_404(
        Opportunity.objects.select_related("account__customer", "owner", "business_unit", "stage"),
        request.user,
        pk=pk,
    )
    can_change = request.user.has_perm("accounts.change_opportunity")
    initial = {f: getattr(opportunity, f) for f in OPPORTUNITY_FIELDS}
    form = OpportunityForm(initial=initial, auto_id="edit_%s")
    status = 200
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        form = OpportunityForm(request.POST, initial=initial, auto_id="edit_%s")
        if form.is_valid():
            changed = {f: form.cleaned_data[f] for f in form.changed_data}
            try:
                services.update_opportunity(
                    opportunity=opportunity, user=request.user, fields=changed
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Opportunity saved."))
                return redirect("accounts:opportunity-detail", pk=opportunity.pk)
        status = 422
    involved = opportunity.involved.select_related("contact__person").prefetch_related("roles")
    return render(
        request,
        "accounts/opportunities/detail.html",
        {
            "opportunity": opportunity,
            "form": form,
            "involved": involved,
            "history": selectors.opportunity_history(opportunity),
            "stages": OpportunityStage.objects.filter(is_active=True),
            "can_change": can_change,
        },
        status=status,
    )


def _units(user: Any) -> Any:
    unit_ids = visible_unit_ids(user)
    units = BusinessUnit.objects.order_by("code")
    return units if unit_ids is None else units.filter(pk__in=unit_ids)


def _choices(queryset: Any, shown: bool) -> Any:
    """All of ``queryset`` to validate a POST; its first rows only to fill a GET's list."""
    if not shown:
        return queryset
    return queryset.filter(pk__in=list(queryset.values_list("pk", flat=True)[:CHOICES_SHOWN]))


@require_http_methods(["GET", "POST"])
@permission_required("accounts.add_opportunity", raise_exception=True)
def create(request: HttpRequest) -> HttpResponse:
    """New opportunity. The account list is searched by name (``q``) and limited, so that the
    page stays small with 200,000 accounts; ``?account=<id>`` preselects one."""
    data = request.POST if request.method == "POST" else None
    query = request.GET.get("q", "").strip()
    accounts = Account.objects.visible_to(request.user).select_related("customer")
    account_id = (data or request.GET).get("account", "")
    if data is None and account_id.isdigit():
        accounts = accounts.filter(pk=int(account_id))
    elif data is None and query:
        accounts = accounts.filter(customer__display_name__icontains=query)
    contacts = Contact.objects.none()
    if account_id.isdigit():
        contacts = (
            Contact.objects.visible_to(request.user)
            .active()
            .filter(account_id=int(account_id))
            .select_related("person")
            .prefetch_related("roles")
        )
    form = CreateOpportunityForm(
        data,
        accounts=_choices(accounts.order_by("-id"), data is None),
        units=_units(request.user),
        contacts=_choices(contacts, data is None),
        initial={"account": account_id or None},
    )
    if data is not None and form.is_valid():
        cleaned = form.cleaned_data
        try:
            opportunity = services.create_opportunity(
                account=cleaned["account"],
                name=cleaned["name"],
                owner=request.user,
                business_unit=cleaned["business_unit"],
                user=request.user,
                amount=cleaned["amount"],
                currency=cleaned["currency"],
                stage=cleaned["stage"],
                expected_close=cleaned["expected_close"],
                products=cleaned["products"],
                notes=cleaned["notes"],
                contacts=[(c, list(c.roles.all())) for c in cleaned["contacts"]],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Opportunity created."))
            return redirect("accounts:opportunity-detail", pk=opportunity.pk)
    return render(
        request,
        "accounts/opportunities/create.html",
        {"form": form, "query": query, "account_id": account_id},
        status=422 if data is not None else 200,
    )


def closing_soon_work(user: Any) -> WorkList:
    """The reps' home card: their open opportunities closing in the next 30 days (and the
    overdue ones), the soonest first, and how many: one query."""
    today = timezone.localdate()
    rows = list(selectors.closing_soon(user=user, until=today + timedelta(days=30))[:5])
    items = [
        WorkItem(
            o.name,
            reverse("accounts:opportunity-detail", args=[o.pk]),
            subtitle=f"{o.account.customer.shown_name} · {o.stage.name}",
            badge=_("Overdue") if o.expected_close < today else o.expected_close.isoformat(),
            badge_color="red" if o.expected_close < today else "azure",
        )
        for o in rows
    ]
    return WorkList(
        items=items,
        total=rows[0].total if rows else 0,  # type: ignore[attr-defined]
        empty_text=_("No open opportunity of yours closes in the next 30 days."),
        see_all_url=reverse("accounts:pipeline") + "?view=mine&period=this_month",
        see_all_label=_("Open my pipeline"),
        icon="target",
    )
