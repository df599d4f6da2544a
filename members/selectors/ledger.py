"""Reading a member's points: summary (balance, level progress, expiring soon), lots, and
the ledger page by page (keyset), each in a constant number of queries."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from members.models import Level, Member, PointsEntry, PointsLot, QualificationBasis
from members.selectors.levels import measures

EXPIRING_DAYS = 30
LEDGER_PAGE = 25


@dataclass
class LevelProgress:
    level: Level | None
    next_level: Level | None
    measure: Decimal  # towards the next level, by its basis and window
    needed: Decimal  # still missing to reach it (0 at the top)
    percent: int


@dataclass
class MemberSummary:
    member: Member
    balance: int
    expiring_points: int
    expiring_before: datetime
    progress: LevelProgress


def level_progress(member: Member, *, now: datetime | None = None) -> LevelProgress:
    """Where the member stands towards the next level (two queries)."""
    now = now or timezone.now()
    current_rank = member.level.rank if member.level_id and member.level else -1
    next_level = Level.objects.filter(rank__gt=current_rank).order_by("rank").first()
    if next_level is None:
        return LevelProgress(member.level, None, Decimal("0"), Decimal("0"), 100)
    points, spend = measures([member.pk], {next_level.window_months}, now)[
        (member.pk, next_level.window_months)
    ]
    measure = spend if next_level.basis == QualificationBasis.SPEND else points
    needed = max(next_level.threshold - measure, Decimal("0"))
    percent = (
        100
        if not next_level.threshold
        else int(min(measure / next_level.threshold, Decimal(1)) * 100)
    )
    return LevelProgress(member.level, next_level, measure, needed, percent)


def expiring_points(
    member: Member, *, now: datetime | None = None, days: int = EXPIRING_DAYS
) -> int:
    """Points of lots still usable now that expire within ``days``."""
    now = now or timezone.now()
    return (
        PointsLot.objects.filter(
            member=member,
            is_open=True,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=days),
        ).aggregate(total=Sum("remaining"))["total"]
        or 0
    )


def member_summary(member: Member, *, now: datetime | None = None) -> MemberSummary:
    """Balance, expiring soon and level progress (three queries on a member loaded with
    ``select_related('level')``)."""
    now = now or timezone.now()
    return MemberSummary(
        member=member,
        balance=member.points_balance,
        expiring_points=expiring_points(member, now=now),
        expiring_before=now + timedelta(days=EXPIRING_DAYS),
        progress=level_progress(member, now=now),
    )


def member_lots(member: Member, *, open_only: bool = True) -> QuerySet[PointsLot]:
    """The member's lots in spending order (oldest first) with their funding unit."""
    lots = PointsLot.objects.filter(member=member).select_related("funding_business_unit")
    if open_only:
        lots = lots.filter(is_open=True)
    return lots.order_by("earned_at", "id")


@dataclass
class LedgerPage:
    rows: list[PointsEntry] = field(default_factory=list)
    next_cursor: str = ""


def _encode(entry: PointsEntry) -> str:
    raw = json.dumps([entry.created_at.isoformat(), entry.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode(cursor: str) -> tuple[datetime, int] | None:
    try:
        when, pk = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        moment = parse_datetime(when)
        return (moment, int(pk)) if moment else None
    except (ValueError, TypeError):
        return None


def ledger_page(
    member: Member,
    *,
    kinds: list[str] | None = None,
    business_unit: int | None = None,
    after: str = "",
    page_size: int = LEDGER_PAGE,
) -> LedgerPage:
    """One page of the member's entries, newest first, filtered by type and unit; keyset
    pagination on (created_at, id): one query whatever the page."""
    entries: QuerySet[PointsEntry] = PointsEntry.objects.filter(member=member).select_related(
        "business_unit", "actor"
    )
    if kinds:
        entries = entries.filter(kind__in=kinds)
    if business_unit:
        entries = entries.filter(business_unit_id=business_unit)
    position = _decode(after) if after else None
    if position is not None:
        when, pk = position
        entries = entries.filter(Q(created_at__lt=when) | Q(created_at=when, id__lt=pk))
    rows = list(entries.order_by("-created_at", "-id")[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    return LedgerPage(rows, _encode(rows[-1]) if more else "")


def balances_check(member: Member) -> dict[str, Any]:
    """The ledger's invariants for one member (staff diagnostics, tests)."""
    entries = PointsEntry.objects.filter(member=member).aggregate(total=Sum("points"))["total"]
    lots = PointsLot.objects.filter(member=member).aggregate(total=Sum("remaining"))["total"]
    return {"balance": member.points_balance, "entries": entries or 0, "lots": lots or 0}
