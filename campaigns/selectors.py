"""Reading coupons for screens and the API: a customer's coupons, the coupon liability per
funding unit as of a date. Every function runs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
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
class TemplateLine:
    template: CouponTemplate
    issued: int
    redeemed: int

    @property
    def rate(self) -> float:
        return 100 * self.redeemed / self.issued if self.issued else 0.0


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
