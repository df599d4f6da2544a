"""Marketing's trigger rule screens: the list (each rule as one sentence, its budget used,
whether it runs; unit and active filters, pages), the sentence-like create and edit form
("when … happens in … then issue … paid by …"), and switching a rule off or on after a
confirmation. Scoped by the paying unit: another unit's rule is a 404. Views parse, authorize
and render; the service decides."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns import selectors, services
from campaigns.models import TRANSACTION_EVENT, TriggerRule
from campaigns.services.triggers import rule_event_choices
from campaigns.web.desk import _units
from campaigns.web.forms import TriggerRuleForm
from campaigns.web.sentence import rule_sentence
from crm.errors import DomainError
from crm.policy import get_visible_or_404
from crm.web.components import paginate


def _rules() -> Any:
    return TriggerRule.objects.select_related(
        "source_business_unit", "template", "funding_business_unit", "owner"
    )


@require_GET
@permission_required("campaigns.view_triggerrule", raise_exception=True)
def rule_list(request: HttpRequest) -> HttpResponse:
    units = _units(request.user)
    unit = next((u for u in units if str(u.pk) == request.GET.get("unit", "")), None)
    active = {"1": True, "0": False}.get(request.GET.get("active", ""))
    page = paginate(
        request,
        selectors.trigger_rule_list(
            user=request.user, unit_id=unit.pk if unit else None, active=active
        ),
    )
    events = dict(rule_event_choices())
    rows = [(rule, rule_sentence(rule, events=events)) for rule in page.object_list]
    context = {
        "page": page,
        "rows": rows,
        "unit": unit,
        "units": units,
        "active": request.GET.get("active", "") if active is not None else "",
        "filtered": bool(unit or active is not None),
    }
    return render(request, "campaigns/rule_list.html", context)


def _editor(request: HttpRequest, rule: TriggerRule | None) -> HttpResponse:
    instance = rule or TriggerRule(owner=request.user)  # type: ignore[misc]
    form = TriggerRuleForm(request.POST or None, instance=instance, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_trigger_rule(form.save(commit=False))
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Trigger rule “%(name)s” saved.") % {"name": saved.name})
            return redirect("campaigns:rule-list")
    context = {"form": form, "rule": rule, "transaction_event": TRANSACTION_EVENT}
    return render(request, "campaigns/rule_form.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("campaigns.add_triggerrule", raise_exception=True)
def rule_create(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@require_http_methods(["GET", "POST"])
@permission_required("campaigns.change_triggerrule", raise_exception=True)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, get_visible_or_404(_rules(), request.user, pk=pk))


@require_POST
@permission_required("campaigns.change_triggerrule", raise_exception=True)
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_visible_or_404(_rules(), request.user, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        services.set_trigger_rule_active(rule=rule, active=active)
    except DomainError as exc:
        messages.error(request, f"{rule.name}: {exc.message}")
    else:
        message = (
            _("Trigger rule “%(name)s” is active: it issues coupons again.")
            if active
            else _("Trigger rule “%(name)s” is inactive: it issues nothing until activated.")
        )
        messages.success(request, message % {"name": rule.name})
    return redirect("campaigns:rule-list")
