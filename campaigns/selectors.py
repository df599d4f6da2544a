"""Reading coupons for screens and the API: a customer's coupons, the coupon liability per
funding unit as of a date. Every function runs a fixed number of queries."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils import timezone

from campaigns.models import Coupon, CouponStatus
from crm.policy import visible_unit_ids


def customer_coupons(
    customer: Any, *, user: Any = None, unit_id: int | None = None, status: str = ""
) -> QuerySet[Coupon]:
    """A customer's coupons, newest first. For a partner key or a unit's staff: those their
    units issued or may redeem (``unit_id`` narrows to one unit)."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    rows = Coupon.objects.filter(customer_id=customer_id)
    units = visible_unit_ids(user) if user is not None else None
    if unit_id is not None:
        units = {unit_id} if units is None else units & {unit_id}
    if units is not None:
        rows = rows.filter(
            Q(business_unit__in=units)
            | Q(
                pk__in=Coupon.objects.filter(
                    customer_id=customer_id, template__redeemable_units__in=units
                ).values("pk")
            )
        )
    if status:
        rows = rows.filter(status=status)
    return rows.select_related("template", "business_unit", "redeemed_business_unit").order_by(
        "-issued_at", "-id"
    )


def _moment(as_of: date | datetime) -> datetime:
    if isinstance(as_of, datetime):
        return as_of
    return timezone.make_aware(datetime.combine(as_of, time.max))


def coupon_liability(
    as_of: date | datetime | None = None, *, business_unit: Any = None
) -> dict[int, Decimal]:
    """What each funding unit owes on coupons issued, neither redeemed nor voided, and still
    valid at ``as_of`` (a date: its end, in the group's zone): face value × the unit's share.
    One query. (A redemption reversed later counts as redeemed until its reversal is not
    reconstructed: ``redeemed_at`` is cleared when a coupon is restored.)"""
    moment = _moment(as_of or timezone.now())
    rows = Coupon.objects.filter(issued_at__lte=moment, valid_until__gt=moment).filter(
        Q(voided_at__isnull=True) | Q(voided_at__gt=moment),
        Q(redeemed_at__isnull=True) | Q(redeemed_at__gt=moment),
    )
    share = ExpressionWrapper(
        F("face_value") * F("template__fundings__share") / 100,
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )
    totals = rows.values("template__fundings__business_unit").annotate(total=Sum(share))
    owed = {
        row["template__fundings__business_unit"]: Decimal(row["total"]).quantize(Decimal("0.01"))
        for row in totals
        if row["template__fundings__business_unit"] is not None
    }
    if business_unit is None:
        return owed
    unit_id = business_unit if isinstance(business_unit, int) else business_unit.pk
    return {unit_id: owed.get(unit_id, Decimal("0.00"))}


def live_coupon_count(customer_id: int) -> int:
    return Coupon.objects.filter(
        customer_id=customer_id, status=CouponStatus.ISSUED, valid_until__gt=timezone.now()
    ).count()
