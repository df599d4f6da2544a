"""The programme's dashboards: set-based aggregates, a constant number of queries whatever
the number of members and entries (each chart one ``GROUP BY``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from crm.models import BusinessUnit
from members.models import EntryKind, LotConsumption, Member, PointsEntry
from members.selectors import points_liability

MONTHS = 12


@dataclass
class Dashboards:
    since: date
    by_level: list[dict[str, Any]]
    enrolments_by_unit: list[dict[str, Any]]
    enrolments_by_channel: list[dict[str, Any]]
    points_per_unit: list[dict[str, Any]]
    liability: list[dict[str, Any]]
    flows: list[dict[str, Any]]
    units: list[str]


def _start(now: datetime, months: int) -> datetime:
    local = timezone.localtime(now)
    index = local.year * 12 + local.month - 1 - (months - 1)
    return local.replace(
        year=index // 12, month=index % 12 + 1, day=1, hour=0, minute=0, second=0, microsecond=0
    )


def members_by_level() -> list[dict[str, Any]]:
    rows = (
        Member.objects.live()
        .values("level__rank", "level__name")
        .annotate(count=Count("id"))
        .order_by("level__rank")
    )
    return [{"level": r["level__name"] or "—", "count": r["count"]} for r in rows]


def enrolments_per_month(since: datetime, by: str) -> list[dict[str, Any]]:
    """``month, key, count`` rows: ``by`` is ``unit`` (the enrolling unit's code) or
    ``channel``."""
    field = "enrolled_business_unit__code" if by == "unit" else "channel"
    rows = (
        Member.objects.filter(enrolled_at__gte=since)
        .annotate(month=TruncMonth("enrolled_at"))
        .values("month", field)
        .annotate(count=Count("id"))
        .order_by("month", field)
    )
    return [
        {"month": f"{timezone.localtime(r['month']):%Y-%m}", "key": r[field], "count": r["count"]}
        for r in rows
    ]


def points_per_unit(since: datetime) -> list[dict[str, Any]]:
    """Per unit: points issued (earned and added by hand), redeemed, expired, reversed."""
    rows = (
        PointsEntry.objects.filter(created_at__gte=since)
        .values("business_unit__code")
        .annotate(
            issued=Sum(
                "points", filter=Q(kind=EntryKind.EARN) | Q(kind=EntryKind.ADJUST, points__gt=0)
            ),
            redeemed=Sum("points", filter=Q(kind=EntryKind.REDEEM)),
            expired=Sum("points", filter=Q(kind=EntryKind.EXPIRE)),
        )
        .order_by("business_unit__code")
    )
    return [
        {
            "unit": r["business_unit__code"],
            "issued": r["issued"] or 0,
            "redeemed": -(r["redeemed"] or 0),
            "expired": -(r["expired"] or 0),
        }
        for r in rows
    ]


def redemption_flows(since: datetime) -> list[dict[str, Any]]:
    """Which unit's points are spent where: points of lots funded by ``source`` consumed by
    redemptions at ``target`` (same unit included: the matrix's diagonal)."""
    rows = (
        LotConsumption.objects.filter(entry__kind=EntryKind.REDEEM, created_at__gte=since)
        .values("lot__funding_business_unit__code", "entry__business_unit__code")
        .annotate(points=Sum("points"))
        .order_by("lot__funding_business_unit__code", "entry__business_unit__code")
    )
    return [
        {
            "source": r["lot__funding_business_unit__code"],
            "target": r["entry__business_unit__code"],
            "points": r["points"],
        }
        for r in rows
    ]


def dashboards(*, now: datetime | None = None, months: int = MONTHS) -> Dashboards:
    now = now or timezone.now()
    since = _start(now, months)
    liability = [
        {
            "unit": row.code,
            "name": row.name,
            "outstanding": row.outstanding,
            "value": str(row.value),
        }
        for row in points_liability(as_of=timezone.localdate(now))
    ]
    return Dashboards(
        since=since.date(),
        by_level=members_by_level(),
        enrolments_by_unit=enrolments_per_month(since, "unit"),
        enrolments_by_channel=enrolments_per_month(since, "channel"),
        points_per_unit=points_per_unit(since),
        liability=liability,
        flows=redemption_flows(since),
        units=list(BusinessUnit.objects.order_by("code").values_list("code", flat=True)),
    )
