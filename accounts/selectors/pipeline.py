"""Reading accounts and the pipeline: the scoped list, per-stage sums, the weighted forecast."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth

from accounts.models import Account, Opportunity, OpportunityStage

GROUPINGS = ("month", "owner", "business_unit")
_ZERO = Decimal("0")
CENT = Decimal("0.01")


def account_list(*, user: Any) -> QuerySet[Account]:
    return (
        Account.objects.visible_to(user)
        .select_related("customer", "owner", "parent__customer")
        .prefetch_related("business_units")
        .order_by("-id")
    )


def weighted_amount() -> ExpressionWrapper:
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
            weighted=Coalesce(Sum(weighted_amount()), _ZERO),
        )
        .order_by(F("group").asc(nulls_last=True))
    )
    return [
        {
            "group": r["group"],
            "count": r["count"],
            "amount": r["total"],
            "weighted": r["weighted"].quantize(CENT, ROUND_HALF_UP),
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
        .annotate(count=Count("id"), total=Sum("amount"), weighted=Sum(weighted_amount()))
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
                "weighted": (row.get("weighted") or _ZERO).quantize(CENT, ROUND_HALF_UP),
            }
        )
    return out
