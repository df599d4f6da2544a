"""Reading accounts and the pipeline: scoped lists, the weighted forecast, 360 panels."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth

from accounts.models import Account, Contact, Opportunity, OpportunityStage

GROUPINGS = ("month", "owner", "business_unit")
_ZERO = Decimal("0")
_CENT = Decimal("0.01")


def account_list(*, user: Any) -> QuerySet[Account]:
    return (
        Account.objects.visible_to(user)
        .select_related("customer", "owner", "parent__customer")
        .prefetch_related("business_units")
        .order_by("-id")
    )


def _weighted() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("amount") * F("stage__probability") / Decimal(100),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )


def weighted_forecast(
    *, user: Any, group_by: str = "month", currency: str = "CNY"
) -> list[dict[str, Any]]:
    """Open opportunities in ``currency``: per group, Σ amount and Σ amount × probability,
    exact Decimals. ``month`` groups by expected close (``None``: no date given)."""
    if group_by not in GROUPINGS:
        raise ValueError(group_by)
    key = {
        "month": TruncMonth("expected_close"),
        "owner": F("owner_id"),
        "business_unit": F("business_unit_id"),
    }[group_by]
    rows = (
        Opportunity.objects.open()
        .visible_to(user)
        .filter(currency=currency)
        .annotate(group=key)
        .values("group")
        .annotate(
            count=Count("id"),
            total=Coalesce(Sum("amount"), _ZERO),
            weighted=Coalesce(Sum(_weighted()), _ZERO),
        )
        .order_by(F("group").asc(nulls_last=True))
    )
    return [
        {
            "group": r["group"],
            "count": r["count"],
            "amount": r["total"],
            "weighted": r["weighted"].quantize(_CENT, ROUND_HALF_UP),
        }
        for r in rows
    ]


def stage_sums(*, user: Any, currency: str = "CNY") -> list[dict[str, Any]]:
    """Per active stage in order: count, Σ amount, Σ weighted (the board's column heads)."""
    sums = {
        r["stage_id"]: r
        for r in Opportunity.objects.visible_to(user)
        .filter(currency=currency)
        .values("stage_id")
        .annotate(count=Count("id"), total=Sum("amount"), weighted=Sum(_weighted()))
        .order_by()
    }
    out = []
    for stage in OpportunityStage.objects.filter(is_active=True):
        row = sums.get(stage.pk, {})
        out.append(
            {
                "stage": stage,
                "count": row.get("count", 0),
                "amount": row.get("total") or _ZERO,
                "weighted": (row.get("weighted") or _ZERO).quantize(_CENT, ROUND_HALF_UP),
            }
        )
    return out


def organization_panel(user: Any, customer: Any) -> dict[str, Any]:
    """The account summary of an organization: three queries whatever its size."""
    account = (
        Account.objects.visible_to(user)
        .select_related("owner")
        .filter(customer=customer)
        .annotate(
            contact_count=Count("contacts", filter=Q(contacts__left_on__isnull=True), distinct=True)
        )
        .first()
    )
    if account is None:
        return {"account": None}
    open_opps = Opportunity.objects.open().visible_to(user).filter(account=account)
    totals: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in (
        open_opps.values("currency")
        .annotate(count=Count("id"), weighted=Sum(_weighted()))
        .order_by("currency")
    ):
        totals[row["currency"]] = {
            "count": row["count"],
            "weighted": row["weighted"].quantize(_CENT, ROUND_HALF_UP),
        }
    return {
        "account": account,
        "open_count": sum(t["count"] for t in totals.values()),
        "weighted": [(cur, t["weighted"]) for cur, t in totals.items()],
    }


def person_panel(user: Any, customer: Any) -> dict[str, Any]:
    """Where this person is a contact (accounts the user may see): one query."""
    positions = list(
        Contact.objects.visible_to(user)
        .filter(person=customer)
        .select_related("account__customer")
        .prefetch_related("roles")
        .order_by("left_on", "-id")[:20]
    )
    return {"positions": positions}


def account_panel_context(user: Any, customer: Any) -> dict[str, Any]:
    if customer.kind == "organization":
        return {"kind": "organization", **organization_panel(user, customer)}
    return {"kind": "person", **person_panel(user, customer)}
