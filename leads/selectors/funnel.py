"""The funnel (AARRR) and channel ROI: read-only figures over the leads a user may see.

Cohort counting: the leads that came in during the period (``created_at``), and how far each
has got since: contacted (a first follow-up), qualified (now qualified, converted, or lost
after having been qualified), converted, lost. Rates are of the leads in.

Channel ROI per (source, channel, campaign code): leads and conversions of the period, the
spend marketing recorded for the months of the period (``ChannelCost``), cost per lead and per
conversion, and the revenue attributed to the conversions: the converted customers' purchases
(``crm.models.COMPLETED_PURCHASE``) in the lead's unit within ``window_days`` of conversion.
ROI = (revenue − spend) / spend."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from crm.models import COMPLETED_PURCHASE, Transaction
from leads.models import ChannelCost, Lead, LeadEvent, LeadStatus

CENT = Decimal("0.01")
GROUPS = {
    "month": TruncMonth("created_at"),
    "week": TruncWeek("created_at"),
    "day": TruncDay("created_at"),
    "source": F("source"),
    "channel": F("channel"),
    "pool": F("pool__name"),
    "owner": F("owner__username"),
}


class Median(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()  # type: ignore[assignment]


@dataclass(frozen=True)
class FunnelRow:
    key: Any
    leads: int
    contacted: int
    qualified: int
    converted: int
    lost: int
    median_first_contact: timedelta | None

    def rate(self, count: int) -> Decimal | None:
        if not self.leads:
            return None
        return (Decimal(count) * 100 / self.leads).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def contact_rate(self) -> Decimal | None:
        return self.rate(self.contacted)

    @property
    def qualify_rate(self) -> Decimal | None:
        return self.rate(self.qualified)

    @property
    def conversion_rate(self) -> Decimal | None:
        return self.rate(self.converted)


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[start of ``date_from``, start of the day after ``date_to``) in the current zone."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(date_from, time.min, tzinfo=zone)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def cohort(
    *, user: Any, date_from: date, date_to: date, unit_id: int | None = None
) -> QuerySet[Lead]:
    start, end = period_bounds(date_from, date_to)
    leads = Lead.objects.visible_to(user).filter(created_at__gte=start, created_at__lt=end)
    if unit_id is not None:
        leads = leads.filter(business_unit_id=unit_id)
    return leads


def funnel(
    *,
    user: Any,
    date_from: date,
    date_to: date,
    by: str = "month",
    unit_id: int | None = None,
) -> list[FunnelRow]:
    """One row per group (period, source, channel, pool or rep), one query."""
    if by not in GROUPS:
        raise ValueError(by)
    was_qualified = Exists(
        LeadEvent.objects.filter(lead=OuterRef("pk"), to_status=LeadStatus.QUALIFIED)
    )
    qualified = Q(status__in=[LeadStatus.QUALIFIED, LeadStatus.CONVERTED]) | Q(
        status=LeadStatus.LOST, was_qualified=True
    )
    rows = (
        cohort(user=user, date_from=date_from, date_to=date_to, unit_id=unit_id)
        .annotate(group=GROUPS[by], was_qualified=was_qualified)
        .values("group")
        .annotate(
            leads=Count("pk"),
            contacted=Count("pk", filter=Q(first_contacted_at__isnull=False)),
            qualified=Count("pk", filter=qualified),
            converted=Count("pk", filter=Q(status=LeadStatus.CONVERTED)),
            lost=Count("pk", filter=Q(status=LeadStatus.LOST)),
            median_first_contact=Median(
                ExpressionWrapper(
                    F("first_contacted_at") - F("created_at"), output_field=DurationField()
                ),
                filter=Q(first_contacted_at__isnull=False),
            ),
        )
        .order_by("group")
    )
    return [
        FunnelRow(
            key=row["group"],
            leads=row["leads"],
            contacted=row["contacted"],
            qualified=row["qualified"],
            converted=row["converted"],
            lost=row["lost"],
            median_first_contact=row["median_first_contact"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class ChannelRow:
    source: str
    channel: str
    campaign_code: str
    leads: int
    conversions: int
    spend: Decimal
    revenue: Decimal

    @property
    def conversion_rate(self) -> Decimal | None:
        if not self.leads:
            return None
        return (Decimal(self.conversions) * 100 / self.leads).quantize(
            Decimal("0.1"), ROUND_HALF_UP
        )

    @property
    def cost_per_lead(self) -> Decimal | None:
        return (self.spend / self.leads).quantize(CENT, ROUND_HALF_UP) if self.leads else None

    @property
    def cost_per_conversion(self) -> Decimal | None:
        if not self.conversions:
            return None
        return (self.spend / self.conversions).quantize(CENT, ROUND_HALF_UP)

    @property
    def roi(self) -> Decimal | None:
        """(revenue − spend) / spend, as a percentage; ``None`` without spend."""
        if not self.spend:
            return None
        return ((self.revenue - self.spend) * 100 / self.spend).quantize(
            Decimal("0.1"), ROUND_HALF_UP
        )


def _months(date_from: date, date_to: date) -> list[date]:
    months, month = [], date_from.replace(day=1)
    while month <= date_to:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def channel_roi(
    *,
    user: Any,
    date_from: date,
    date_to: date,
    unit_id: int | None = None,
    window_days: int = 90,
) -> list[ChannelRow]:
    """Per channel key, the leads of the period and the months' spend: two queries."""
    money: DecimalField[Any, Any] = DecimalField(max_digits=16, decimal_places=2)
    revenue = Subquery(
        Transaction.objects.filter(
            COMPLETED_PURCHASE,
            customer=OuterRef("customer"),
            business_unit=OuterRef("business_unit"),
            occurred_at__gte=OuterRef("converted_at"),
            occurred_at__lt=ExpressionWrapper(
                OuterRef("converted_at") + Value(timedelta(days=window_days)),
                output_field=DateTimeField(),
            ),
        )
        .order_by()
        .values("customer")
        .annotate(total=Sum("amount"))
        .values("total"),
        output_field=money,
    )
    rows = (
        cohort(user=user, date_from=date_from, date_to=date_to, unit_id=unit_id)
        .annotate(
            lead_revenue=Coalesce(revenue, Value(Decimal(0)), output_field=money),
        )
        .values("source", "channel", "campaign_code")
        .annotate(
            leads=Count("pk"),
            conversions=Count("pk", filter=Q(status=LeadStatus.CONVERTED)),
            revenue=Sum("lead_revenue", filter=Q(status=LeadStatus.CONVERTED)),
        )
        .order_by("source", "channel", "campaign_code")
    )
    spend: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    costs = ChannelCost.objects.visible_to(user).filter(month__in=_months(date_from, date_to))
    if unit_id is not None:
        costs = costs.filter(business_unit_id=unit_id)
    for cost in costs.values("source", "channel", "campaign_code").annotate(total=Sum("amount")):
        spend[(cost["source"], cost["channel"], cost["campaign_code"])] += cost["total"]
    found: dict[tuple[str, str, str], ChannelRow] = {}
    for row in rows:
        key = (row["source"], row["channel"], row["campaign_code"])
        found[key] = ChannelRow(
            *key,
            leads=row["leads"],
            conversions=row["conversions"],
            spend=spend.get(key, Decimal(0)),
            revenue=(row["revenue"] or Decimal(0)).quantize(CENT),
        )
    for key, amount in spend.items():  # spend without a lead of the period: still shown
        found.setdefault(
            key, ChannelRow(*key, leads=0, conversions=0, spend=amount, revenue=Decimal(0))
        )
    return sorted(found.values(), key=lambda r: (r.source, r.channel, r.campaign_code))
