"""The group overview of coupon results over a period: for whole months, two reads of the
monthly rollup as of its last refresh (campaigns/ROLLUP.md, ``overview_rollup``); otherwise
two aggregate queries over the coupons. Both give the same rows. For the coupons issued in the
period (the cohort) and their redemptions within it: per issuing unit the coupons issued
and redeemed, the redemption rate, the discount given and the revenue of the orders that
redeemed; per month the coupons issued (by the month of issue) and redeemed (by the month
of redemption); and the value exchanged between units: what each funding unit paid, by its
share of the discount, for redemptions at another unit.

A redemption reversed with its coupon restored is no longer a redemption (the coupon is
issued again, its settlement reversed): it counts nowhere here, as in the ledger."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import Count, DateField, DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from campaigns.models import Coupon, CouponStatus
from campaigns.selectors.overview_rollup import rollup_rows, rollup_state_for
from campaigns.selectors.rates import RedemptionRate
from crm.policy import visible_unit_ids

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MAX_MONTHS = 60


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


@dataclass(frozen=True)
class UnitResults(RedemptionRate):
    unit_id: int
    unit: str
    currency: str
    issued: int
    redeemed: int
    discount: Decimal
    revenue: Decimal


@dataclass
class MonthResults:
    month: date
    issued: int = 0
    redeemed: int = 0
    discount: dict[str, Decimal] = field(default_factory=dict)  # by currency
    revenue: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class PairFlow:
    """``funder`` paid ``amount`` (its share of the discounts) for ``redemptions`` of its
    coupons at ``redeemer``."""

    funder_id: int
    funder: str
    redeemer_id: int
    redeemer: str
    currency: str
    redemptions: int
    amount: Decimal


@dataclass(frozen=True)
class GroupOverview(RedemptionRate):
    start: date
    end: date
    units: list[UnitResults]
    months: list[MonthResults]
    pairs: list[PairFlow]
    issued: int
    redeemed: int
    discount: dict[str, Decimal]
    revenue: dict[str, Decimal]
    as_of: datetime | None = None  # the rollup's refresh read; None: computed live


def month_starts(start: date, end: date) -> list[date]:
    """The first day of every month from ``start``'s to ``end``'s (at most ``MAX_MONTHS``)."""
    months: list[date] = []
    current = start.replace(day=1)
    while current <= end and len(months) < MAX_MONTHS:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def _add(totals: dict[str, Decimal], currency: str, amount: Decimal) -> None:
    totals[currency] = totals.get(currency, ZERO) + amount


def _period(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end, time.max)),
    )


def _live_rows(units_seen: set[int] | None, start: date, end: date) -> tuple[Any, Any]:
    """The two aggregate queries over the period's coupons (the cohort)."""
    first, last = _period(start, end)
    cohort = Coupon.objects.filter(issued_at__gte=first, issued_at__lte=last)
    issued_by = cohort if units_seen is None else cohort.filter(business_unit__in=units_seen)
    redeemed = Q(status=CouponStatus.REDEEMED, redeemed_at__lte=last)
    unit_rows = (
        issued_by.values(
            "business_unit_id",
            "business_unit__name",
            "template__currency",
            issued_month=TruncMonth("issued_at", output_field=DateField()),
            redeemed_month=TruncMonth("redeemed_at", output_field=DateField()),
        )
        .annotate(
            issued=Count("id"),
            redeemed=Count("id", filter=redeemed),
            discount=Sum("discount", filter=redeemed),
            revenue=Sum("order_amount", filter=redeemed),
        )
        .order_by()
    )
    paid = ExpressionWrapper(
        F("discount") * F("template__fundings__share") / 100,
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )
    flows = (
        cohort.filter(redeemed)
        .annotate(funder=F("template__fundings__business_unit"))
        .exclude(funder=F("redeemed_business_unit"))
    )
    if units_seen is not None:
        flows = flows.filter(Q(funder__in=units_seen) | Q(redeemed_business_unit__in=units_seen))
    pair_rows = flows.values(
        "funder",
        "template__fundings__business_unit__name",
        "redeemed_business_unit_id",
        "redeemed_business_unit__name",
        "template__currency",
    ).annotate(n=Count("id"), amount=Sum(paid))
    return unit_rows, pair_rows


def group_overview(*, user: Any, start: date, end: date, live: bool = False) -> GroupOverview:
    """The overview of the coupons issued from ``start`` to ``end`` (inclusive, in the group's
    zone). A unit's staff see the units they belong to (issuing, paying or redeeming); the
    group's administrators every unit. Whole months are read from the monthly rollup as of
    its last refresh (``as_of``; campaigns/ROLLUP.md); other periods, a rollup never built,
    or ``live``: computed from the coupons."""
    units_seen = visible_unit_ids(user)
    state = None if live else rollup_state_for(start, end)
    if state is not None:
        unit_rows, pair_rows = rollup_rows(units_seen, start, end)
    else:
        unit_rows, pair_rows = _live_rows(units_seen, start, end)

    # The rows are grouped by unit, currency, month of issue and month of redemption (at
    # most units x months x (months + 1) rows): the units' and the months' figures are
    # folded from them.
    totals: dict[tuple[int, str, str], dict[str, Any]] = {}
    months = {m: MonthResults(m) for m in month_starts(start, end)}
    for row in unit_rows:
        currency = row["template__currency"]
        discount, revenue = _money(row["discount"]), _money(row["revenue"])
        key = (row["business_unit_id"], row["business_unit__name"], currency)
        unit = totals.setdefault(
            key, {"issued": 0, "redeemed": 0, "discount": ZERO, "revenue": ZERO}
        )
        unit["issued"] += row["issued"]
        unit["redeemed"] += row["redeemed"]
        unit["discount"] += discount
        unit["revenue"] += revenue
        if row["issued_month"] in months:
            months[row["issued_month"]].issued += row["issued"]
        if row["redeemed"] and row["redeemed_month"] in months:
            month = months[row["redeemed_month"]]
            month.redeemed += row["redeemed"]
            _add(month.discount, currency, discount)
            _add(month.revenue, currency, revenue)
    units = [
        UnitResults(unit_id=unit_id, unit=name, currency=currency, **figures)
        for (unit_id, name, currency), figures in sorted(
            totals.items(), key=lambda item: (item[0][1], item[0][0], item[0][2])
        )
    ]
    pairs = [
        PairFlow(
            funder_id=row["funder"],
            funder=row["template__fundings__business_unit__name"],
            redeemer_id=row["redeemed_business_unit_id"],
            redeemer=row["redeemed_business_unit__name"],
            currency=row["template__currency"],
            redemptions=row["n"],
            amount=_money(row["amount"]),
        )
        for row in pair_rows
    ]
    pairs.sort(key=lambda p: (-p.amount, p.funder, p.redeemer))

    discounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
    revenues: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in units:
        discounts[line.currency] += line.discount
        revenues[line.currency] += line.revenue
    return GroupOverview(
        start=start,
        end=end,
        units=units,
        months=list(months.values()),
        pairs=pairs,
        issued=sum(u.issued for u in units),
        redeemed=sum(u.redeemed for u in units),
        discount=dict(discounts),
        revenue=dict(revenues),
        as_of=state.refreshed_at if state is not None else None,
    )
