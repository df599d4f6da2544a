"""Expiry: the beat task expires every lot due, set-based, in batches of members.

Batches follow the member ids (a keyset), each one transaction with a fixed number of
statements whatever its size: the members are locked (ordered by id, the same lock order as
every points use case: member, then lots), then their due lots; one ``expire`` entry per lot
(reference ``lot:<id>``, so it can exist once), one consumption per lot, the lots emptied
and the balances lowered in one ``UPDATE`` each. Running it twice changes nothing the second
time: an expired lot has nothing remaining."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from members.models import EntryKind, LotConsumption, Member, PointsEntry, PointsLot

_EMPTY_LOTS = "UPDATE members_pointslot SET remaining = 0 WHERE id = ANY(%s)"
_LOWER_BALANCES = """
UPDATE members_member m SET points_balance = m.points_balance - v.points
FROM unnest(%s::bigint[], %s::integer[]) AS v(id, points)
WHERE m.id = v.id
"""


def expire_due_points(*, now: datetime | None = None, batch_size: int = 1000) -> dict[str, int]:
    """Expire every lot whose ``expires_at`` is at or before ``now``."""
    now = now or timezone.now()
    counts = {"lots": 0, "points": 0, "members": 0}
    after = 0  # members in id order: each batch starts after the last one's members
    while True:
        with transaction.atomic():
            # Keyset on the member (the lots' (member, expires_at) index walked in member
            # order): without it every batch sorted all the lots still due to find its
            # thousand members (half a million due lots: 500 batches of that).
            member_ids = list(
                PointsLot.objects.filter(member_id__gt=after, is_open=True, expires_at__lte=now)
                .order_by("member_id")
                .values_list("member_id", flat=True)
                .distinct()[:batch_size]
            )
            if not member_ids:
                return counts
            after = member_ids[-1]
            list(
                Member.objects.select_for_update()
                .filter(pk__in=member_ids)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            lots = list(
                PointsLot.objects.select_for_update()
                .filter(member_id__in=member_ids, is_open=True, expires_at__lte=now)
                .order_by("member_id", "earned_at", "id")
            )
            entries = PointsEntry.objects.bulk_create(
                [
                    PointsEntry(
                        member_id=lot.member_id,
                        customer_id=lot.customer_id,
                        business_unit_id=lot.funding_business_unit_id,
                        kind=EntryKind.EXPIRE,
                        points=-lot.remaining,
                        reason="expired",
                        reference=f"lot:{lot.pk}",
                        created_at=now,
                    )
                    for lot in lots
                ]
            )
            LotConsumption.objects.bulk_create(
                [
                    LotConsumption(entry=entry, lot=lot, points=lot.remaining, created_at=now)
                    for entry, lot in zip(entries, lots, strict=True)
                ]
            )
            per_member: dict[int, int] = defaultdict(int)
            for lot in lots:
                per_member[lot.member_id] += lot.remaining
            with connection.cursor() as cursor:
                cursor.execute(_EMPTY_LOTS, [[lot.pk for lot in lots]])
                cursor.execute(_LOWER_BALANCES, [list(per_member), list(per_member.values())])
            counts["lots"] += len(lots)
            counts["points"] += sum(per_member.values())
            counts["members"] += len(per_member)
