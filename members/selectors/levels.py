"""What levels are measured on: points earned and spend over a rolling window."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from django.db.models import Q, Sum

from members.models import EntryKind, PointsEntry


def measures(
    member_ids: list[int], windows: set[int], at: datetime
) -> dict[tuple[int, int], tuple[Decimal, Decimal]]:
    """``(member id, window months) -> (points earned, spend)`` over each window (one query
    per distinct window)."""
    out: dict[tuple[int, int], tuple[Decimal, Decimal]] = defaultdict(
        lambda: (Decimal("0"), Decimal("0"))
    )
    for months in windows:
        rows = (
            PointsEntry.objects.filter(
                member_id__in=member_ids, created_at__gt=at - relativedelta(months=months)
            )
            .values("member_id")
            .annotate(
                points=Sum("points", filter=Q(kind__in=[EntryKind.EARN, EntryKind.REVERSE])),
                spend=Sum("spend"),
            )
        )
        for row in rows:
            out[(row["member_id"], months)] = (
                Decimal(row["points"] or 0),
                row["spend"] or Decimal("0"),
            )
    return out
