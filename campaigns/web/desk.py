"""The coupon desk (cashier screen): scan or type a code and the order amount, see the
validation in large type (the discount, or the precise reason), redeem with the order's
reference. And the customer's coupons on the 360 view. Views parse, authorize and render;
services decide."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from campaigns import codes, services
from campaigns.selectors import customer_coupons
from crm.errors import DomainError
from crm.models import BusinessUnit
from crm.policy import visible_unit_ids

PANEL_ROWS = 8


def _units(user: Any) -> list[BusinessUnit]:
    units = BusinessUnit.objects.active()
    visible = visible_unit_ids(user)
    if visible is not None:
        units = units.filter(pk__in=visible)
    return list(units.order_by("code"))


def _chosen(units: list[BusinessUnit], raw: str | None) -> BusinessUnit | None:
    by_pk = {str(u.pk): u for u in units}
    if raw and raw in by_pk:
        return by_pk[raw]
    return units[0] if len(units) == 1 else None


def _amount(raw: str | None) -> Decimal | None:
    try:
        value = Decimal((raw or "").strip().replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


@require_GET
@permission_required("campaigns.redeem_coupon", raise_exception=True)
def desk(request: HttpRequest) -> HttpResponse:
    units = _units(request.user)
    unit = _chosen(units, request.GET.get("unit"))
    code = request.GET.get("code", "").strip()[:40]
    amount = _amount(request.GET.get("amount"))
    result: dict[str, Any] = {}
    if code:
        if unit is None:
            result = {"error": _("Choose your business unit.")}
        elif amount is None:
            result = {"error": _("Give the order amount.")}
        else:
            try:
                found = services.validate_coupon(code=code, business_unit=unit, order_amount=amount)
            except DomainError as exc:
                result = {"error": exc.message, "code": exc.code}
            else:
                result = {"valid": found, "display": codes.display(found.coupon.code)}
    context = {
        "units": units,
        "unit": unit,
        "code": code,
        "amount": "" if amount is None else amount,
        "result": result,
    }
    template = "campaigns/_desk_result.html" if request.htmx else "campaigns/desk.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@require_POST
@permission_required("campaigns.redeem_coupon", raise_exception=True)
def redeem(request: HttpRequest) -> HttpResponse:
    units = _units(request.user)
    unit = _chosen(units, request.POST.get("unit"))
    code = request.POST.get("code", "").strip()[:40]
    amount = _amount(request.POST.get("amount"))
    back = {"code": code, "amount": "" if amount is None else str(amount)}
    if unit is None or amount is None:
        messages.error(request, _("Choose your business unit and give the order amount."))
        return _back(back)
    try:
        done = services.redeem_coupon(
            code=code,
            business_unit=unit,
            reference=request.POST.get("reference", ""),
            order_amount=amount,
            actor=request.user,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back({**back, "unit": str(unit.pk)})
    messages.success(
        request,
        _("Coupon %(code)s redeemed: %(discount)s off order %(ref)s.")
        % {
            "code": codes.display(done.coupon.code),
            "discount": done.discount,
            "ref": done.coupon.redemption_reference,
        },
    )
    return _back({"unit": str(unit.pk)})


def _back(params: dict[str, str]) -> HttpResponse:
    return redirect(f"{reverse('campaigns:desk')}?{urlencode(params)}")


def panel_context(user: Any, customer: Any) -> dict[str, Any]:
    """The 360 view's coupons panel: the newest coupons the user's units issued or may
    redeem (two queries, whatever the customer's history)."""
    rows = list(customer_coupons(customer, user=user)[: PANEL_ROWS + 1])
    return {"coupons": rows[:PANEL_ROWS], "more": len(rows) > PANEL_ROWS}
