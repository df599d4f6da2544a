"""The group overview's rows read from the monthly rollup (campaigns/ROLLUP.md): the same
rows as the two aggregate queries over the coupons, from cells by template and month
instead of coupons, so that the overview costs the same at 5,000 coupons or 5,000,000.

Exact for whole months in the group's zone: a period from the 1st of a month to the last day
of a month, shown in ``settings.TIME_ZONE`` (the zone the cells' months are in)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import DecimalField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone

from campaigns.models import CouponMonthRollup, CouponRollupState


def _whole_months(start: date, end: date) -> bool:
    return start.day == 1 and (end + timedelta(days=1)).day == 1


def rollup_state_for(start: date, end: date) -> CouponRollupState | None:
    """The rollup's state when it can answer for this period (whole months, the group's
    zone, refreshed at least once); ``None``: compute from the coupons."""
    if not _whole_months(start, end):
        return None
    if timezone.get_current_timezone_name() != settings.TIME_ZONE:
        return None
    return CouponRollupState.objects.filter(pk=1).first()


def rollup_rows(units_seen: set[int] | None, start: date, end: date) -> tuple[Any, Any]:
    """Per (unit, currency, month of issue, month of redemption): issued, redeemed, discount,
    revenue; per (funder, redeemer, currency): redemptions and what the funder paid. The
    currency and the funding shares are the templates' as they are now, as the coupons'
    query reads them."""
    last_month = end.replace(day=1)
    cells = CouponMonthRollup.objects.filter(
        issued_month__gte=start, issued_month__lte=last_month
    ).filter(Q(redeemed_month__isnull=True) | Q(redeemed_month__lte=last_month))
    issued_by = cells if units_seen is None else cells.filter(business_unit__in=units_seen)
    unit_rows = (
        issued_by.values(
            "business_unit_id",
            "business_unit__name",
            "template__currency",
            "issued_month",
            "redeemed_month",
        )
        .annotate(
            issued=Sum("issued"),
            redeemed=Sum("redeemed"),
            discount=Sum("discount"),
            revenue=Sum("revenue"),
        )
        .order_by()
    )
    paid = ExpressionWrapper(
        F("discount") * F("template__fundings__share") / 100,
        output_field=DecimalField(max_digits=24, decimal_places=4),
    )
    flows = (
        cells.filter(redeemed_month__isnull=False)
        .annotate(funder=F("template__fundings__business_unit"))
        .exclude(funder=F("redeemed_business_unit"))
    )
    if units_seen is not None:
        flows = flows.filter(Q(funder__in=units_seen) | Q(redeemed_business_unit__in=units_seen))
    pair_rows = (
        flows.values(
            "funder",
            "template__fundings__business_unit__name",
            "redeemed_business_unit_id",
            "redeemed_business_unit__name",
            "template__currency",
        )
        .annotate(n=Sum("redeemed"), amount=Sum(paid))
        .order_by()
    )
    return unit_rows, pair_rows
