"""Levels: a member qualifies for the highest level whose threshold its points earned (or its
spend, by the level's basis) over the level's rolling window reach.

Upgrades are immediate: every earn checks (``upgrade_if_qualified``, under the member's
lock). Downgrades happen only at the periodic evaluation (``evaluate_levels``, a beat task),
and only once the level has been held for the programme's grace period; the member then
goes to the highest level it still qualifies for. Every change is a ``LevelChange`` row with
its reason and a timeline event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from crm.services.customers import record_event
from members.models import (
    Level,
    LevelChange,
    LevelChangeReason,
    Member,
    MemberStatus,
    ProgramSettings,
    QualificationBasis,
)
from members.selectors.levels import measures

EVENT_LEVEL_CHANGED = "member.level_changed"


def levels() -> list[Level]:
    return list(Level.objects.order_by("rank"))


def qualified_level(
    member_id: int, ladder: list[Level], values: dict[tuple[int, int], tuple[Decimal, Decimal]]
) -> tuple[Level | None, Decimal]:
    """The highest level of ``ladder`` the member qualifies for, and its measure there."""
    best: tuple[Level | None, Decimal] = (None, Decimal("0"))
    for level in ladder:
        points, spend = values[(member_id, level.window_months)]
        measure = spend if level.basis == QualificationBasis.SPEND else points
        if measure >= level.threshold:
            best = (level, measure)
    return best


def change_level(
    member: Member,
    to: Level,
    *,
    reason: str,
    at: datetime,
    measure: Decimal | None = None,
    actor: Any = None,
) -> LevelChange:
    """Move the (locked) member to level ``to``: the row, the history, the timeline."""
    change = LevelChange.objects.create(
        member=member,
        from_level_id=member.level_id,
        to_level=to,
        reason=reason,
        measure=measure,
        actor=actor if getattr(actor, "pk", None) else None,
        changed_at=at,
    )
    Member.objects.filter(pk=member.pk).update(level=to, level_since=at)
    member.level, member.level_since = to, at
    record_event(
        customer=member.customer_id,
        type=EVENT_LEVEL_CHANGED,
        summary=f"Level: {to.name}",
        actor=actor,
        occurred_at=at,
        data={"from": change.from_level_id, "to": to.pk, "reason": reason, "level": to.name},
    )
    return change


def upgrade_if_qualified(
    member: Member, *, at: datetime, actor: Any = None, ladder: list[Level] | None = None
) -> bool:
    """Inside an earn (member locked): upgrade now if a higher level's threshold is reached.
    ``ladder``: the levels, when the caller has read them already."""
    ladder = levels() if ladder is None else ladder
    current_rank = member.level.rank if member.level is not None else -1
    higher = [level for level in ladder if level.rank > current_rank]
    if not higher:
        return False
    values = measures([member.pk], {level.window_months for level in higher}, at)
    target, measure = qualified_level(member.pk, ladder, values)
    if target is None or target.rank <= current_rank:
        return False
    change_level(
        member, target, reason=LevelChangeReason.UPGRADE, at=at, measure=measure, actor=actor
    )
    return True


def evaluate_levels(*, now: datetime | None = None, batch_size: int = 1000) -> dict[str, int]:
    """The periodic evaluation: upgrades anybody who qualifies for more, downgrades members
    below their level's threshold who have held it longer than the grace period. Batches of
    members by id, each in its own transaction; safe to run twice."""
    now = now or timezone.now()
    ladder = levels()
    if not ladder:
        return {"upgraded": 0, "downgraded": 0}
    grace = timedelta(days=ProgramSettings.current().downgrade_grace_days)
    windows = {level.window_months for level in ladder}
    counts = {"upgraded": 0, "downgraded": 0}
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                Member.objects.select_for_update(of=("self",))
                .filter(pk__gt=last_id, merged_into__isnull=True)
                .exclude(status=MemberStatus.CLOSED)
                .select_related("level")
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return counts
            last_id = batch[-1].pk
            values = measures([m.pk for m in batch], windows, now)
            for member in batch:
                target, measure = qualified_level(member.pk, ladder, values)
                if target is None:
                    target = ladder[0]
                current = member.level.rank if member.level is not None else -1
                if target.rank > current:
                    change_level(
                        member, target, reason=LevelChangeReason.UPGRADE, at=now, measure=measure
                    )
                    counts["upgraded"] += 1
                elif target.rank < current and (
                    member.level_since is None or member.level_since + grace <= now
                ):
                    change_level(
                        member, target, reason=LevelChangeReason.DOWNGRADE, at=now, measure=measure
                    )
                    counts["downgraded"] += 1
