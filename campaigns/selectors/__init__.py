"""Reading coupons for screens and the API: a customer's coupons, the coupon liability per
funding unit as of a date. Every function runs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from campaigns.models import (
    BulkIssue,
    Campaign,
    CampaignStatus,
    Coupon,
    CouponStatus,
    CouponTemplate,
    TriggerRule,
)
from campaigns.selectors.overview import GroupOverview, group_overview
from campaigns.selectors.rates import RedemptionRate
from campaigns.selectors.rules import trigger_rule_list
from crm.models import SettlementLine, SettlementSource
from crm.policy import visible_unit_ids

__all__ = [
    "CAMPAIGN_SORTS",
    "GroupOverview",
    "campaign_list",
    "campaign_results",
    "campaign_summary",
    "coupon_liability",
    "customer_coupons",
    "group_overview",
    "group_results",
    "live_coupon_count",
    "trigger_rule_list",
]


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


# --- Campaigns for the marketing screens -----------------------------------------------------

CAMPAIGN_SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "starts": ("starts_on", "id"),
    "-starts": ("-starts_on", "-id"),
    "budget": ("budget", "id"),
    "-budget": ("-budget", "-id"),
    "used": ("used_share", "id"),
    "-used": ("-used_share", "-id"),
}


def campaign_list(
    *,
    user: Any,
    query: str = "",
    status: str = "",
    unit_id: int | None = None,
    sort: str = "-starts",
) -> QuerySet[Campaign]:
    """The campaigns of the user's units with their unit, owner and target segment, the share
    of the budget used; narrowed by a word, a status and a unit; sorted (one query a page)."""
    rows = Campaign.objects.visible_to(user).select_related(
        "business_unit", "owner", "target_segment"
    )
    text = query.strip()
    if text:
        rows = rows.filter(Q(name__icontains=text) | Q(goal__icontains=text))
    if status in CampaignStatus.values:
        rows = rows.filter(status=status)
    if unit_id is not None:
        rows = rows.filter(business_unit_id=unit_id)
    annotated: QuerySet[Campaign] = rows.annotate(
        used_share=Case(
            When(budget__gt=0, then=F("issued_value") * 100 / F("budget")),
            default=Value(Decimal("0")),
            output_field=DecimalField(max_digits=7, decimal_places=2),
        )
    )
    return annotated.order_by(*CAMPAIGN_SORTS.get(sort, CAMPAIGN_SORTS["-starts"]))


@dataclass(frozen=True)
class TemplateLine(RedemptionRate):
    template: CouponTemplate
    issued: int
    redeemed: int


@dataclass(frozen=True)
class CampaignSummary:
    audience: int | None  # the frozen audience's size; None before the start
    templates: list[TemplateLine]
    rules: list[TriggerRule]
    bulk_issues: list[BulkIssue]
    issued: int
    redeemed: int


def campaign_summary(campaign: Campaign, *, bulk_rows: int = 5) -> CampaignSummary:
    """The campaign page's figures in a fixed number of queries: its audience size, the
    templates it issued (or may issue: the issuing unit's active ones) with issued and
    redeemed counts, the trigger rules of those templates, its latest bulk issues."""
    snapshot = campaign.audience_snapshot
    counts = {
        row["template_id"]: row
        for row in Coupon.objects.filter(campaign=campaign)
        .values("template_id")
        .annotate(
            issued=Count("id"),
            redeemed=Count("id", filter=Q(status=CouponStatus.REDEEMED)),
        )
    }
    templates = list(
        CouponTemplate.objects.filter(
            Q(pk__in=list(counts)) | Q(business_unit_id=campaign.business_unit_id, is_active=True)
        ).order_by("name", "id")
    )
    lines = [
        TemplateLine(
            t, counts.get(t.pk, {}).get("issued", 0), counts.get(t.pk, {}).get("redeemed", 0)
        )
        for t in templates
    ]
    rules = list(
        TriggerRule.objects.filter(template__in=templates)
        .select_related("template", "source_business_unit", "funding_business_unit")
        .order_by("name", "id")
    )
    bulk = list(
        BulkIssue.objects.filter(campaign=campaign)
        .select_related("template", "job")
        .order_by("-created_at", "-id")[:bulk_rows]
    )
    return CampaignSummary(
        audience=snapshot.member_count if snapshot is not None else None,
        templates=lines,
        rules=rules,
        bulk_issues=bulk,
        issued=sum(line.issued for line in lines),
        redeemed=sum(line.redeemed for line in lines),
    )


# --- Campaign results: issued and redeemed (核销) over time, per template, settlement ------


@dataclass(frozen=True)
class ResultDay:
    day: date
    issued: int
    redeemed: int
    discount: Decimal


@dataclass(frozen=True)
class ResultTemplate(RedemptionRate):
    template_id: int
    name: str
    currency: str
    issued: int
    redeemed: int
    discount: Decimal
    revenue: Decimal


@dataclass(frozen=True)
class ResultSettlement:
    """``debtor`` owes ``creditor`` ``amount`` net (redemptions less their reversals)."""

    debtor_id: int
    debtor: str
    creditor_id: int
    creditor: str
    currency: str
    amount: Decimal


@dataclass(frozen=True)
class CampaignResults(RedemptionRate):
    days: list[ResultDay]
    templates: list[ResultTemplate]
    settlements: list[ResultSettlement]
    issued: int
    redeemed: int
    discount: Decimal
    revenue: Decimal


ZERO = Decimal("0.00")


def _coupon_id_of_line() -> Cast:
    # Coupon settlement lines are referenced "coupon:<coupon id>:<order reference>:<funder>".
    return Cast(
        Func(F("source_reference"), Value(":"), Value(2), function="split_part"),
        output_field=BigIntegerField(),
    )


def _results(coupons: QuerySet[Coupon]) -> CampaignResults:
    """Four queries whatever the number of coupons, days, templates or unit pairs."""
    redeemed = Q(status=CouponStatus.REDEEMED)
    issued_days = {
        row["day"]: row["n"]
        for row in coupons.annotate(day=TruncDate("issued_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    }
    redeemed_days = {
        row["day"]: row
        for row in coupons.filter(redeemed)
        .annotate(day=TruncDate("redeemed_at"))
        .values("day")
        .annotate(n=Count("id"), discount=Sum("discount"))
        .order_by()
    }
    days = [
        ResultDay(
            day=day,
            issued=issued_days.get(day, 0),
            redeemed=redeemed_days[day]["n"] if day in redeemed_days else 0,
            discount=(redeemed_days[day]["discount"] or ZERO) if day in redeemed_days else ZERO,
        )
        for day in sorted(set(issued_days) | set(redeemed_days))
    ]
    templates = [
        ResultTemplate(
            template_id=row["template_id"],
            name=row["template__name"],
            currency=row["template__currency"],
            issued=row["issued"],
            redeemed=row["redeemed"],
            discount=row["discount"] or ZERO,
            revenue=row["revenue"] or ZERO,
        )
        for row in coupons.values("template_id", "template__name", "template__currency")
        .annotate(
            issued=Count("id"),
            redeemed=Count("id", filter=redeemed),
            discount=Sum("discount", filter=redeemed),
            revenue=Sum("order_amount", filter=redeemed),
        )
        .order_by("template__name", "template_id")
    ]
    lines = (
        SettlementLine.objects.filter(source_kind=SettlementSource.COUPON)
        .annotate(coupon_id=_coupon_id_of_line())
        .filter(coupon_id__in=coupons.values("pk"))
        .values("debtor_id", "debtor__name", "creditor_id", "creditor__name", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    gross = {(row["debtor_id"], row["creditor_id"], row["currency"]): row for row in lines}
    settlements = []
    for (debtor, creditor, currency), row in gross.items():
        back = gross.get((creditor, debtor, currency))
        net = row["total"] - (back["total"] if back else ZERO)
        if net > 0:
            settlements.append(
                ResultSettlement(
                    debtor, row["debtor__name"], creditor, row["creditor__name"], currency, net
                )
            )
    settlements.sort(key=lambda s: (-s.amount, s.debtor, s.creditor))
    return CampaignResults(
        days=days,
        templates=templates,
        settlements=settlements,
        issued=sum(t.issued for t in templates),
        redeemed=sum(t.redeemed for t in templates),
        discount=sum((t.discount for t in templates), ZERO),
        revenue=sum((t.revenue for t in templates), ZERO),
    )


def campaign_results(campaign: Campaign | int) -> CampaignResults:
    """A campaign's results: coupons issued and redeemed per day (in the group's zone), the
    discount given, per template its redemption rate and the revenue of the orders that
    redeemed, and what the units owe each other for those redemptions. Four queries."""
    campaign_id = campaign if isinstance(campaign, int) else campaign.pk
    return _results(Coupon.objects.filter(campaign_id=campaign_id))


def group_results(*, user: Any, start: date, end: date) -> CampaignResults:
    """The same figures over every coupon issued from ``start`` to ``end`` (inclusive, in the
    group's zone) by the units ``user`` may see. Four queries."""
    coupons = Coupon.objects.filter(
        issued_at__gte=timezone.make_aware(datetime.combine(start, time.min)),
        issued_at__lte=_moment(end),
    )
    units = visible_unit_ids(user)
    if units is not None:
        coupons = coupons.filter(business_unit__in=units)
    return _results(coupons)
