"""Customer merge: the loser's membership joins the survivor's.

- Only the loser is a member: its membership (number, level, ledger) moves to the survivor.
- Both are members: the survivor's member keeps its number; the loser's number becomes an
  alias that still finds it; every entry and lot moves with its history (entries keep their
  id, kind, unit, points, reference and time: only ``member``/``customer`` change, the one
  change the ledger's trigger lets through during a merge); the balances add up; the level is
  the higher one; a frozen status wins over an active one. The loser's member stays as a
  closed, empty tombstone pointing to the survivor (its level history stays with it)."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from crm.models import Customer
from crm.services.settlement import allow_ledger_reassign
from members.models import (
    AdjustmentProposal,
    LevelChangeReason,
    Member,
    MemberNumberAlias,
    MemberStatus,
    PointsEntry,
    PointsLot,
)
from members.services.levels import change_level


def move_member_data(*, survivor: Customer, loser: Customer, **_: Any) -> int:
    """Merge handler (inside ``merge_customers``' transaction); returns the rows moved."""
    members = {
        m.customer_id: m
        # No join while locking (a re-read row would meet the old version of a joined one).
        for m in Member.objects.select_for_update()
        .filter(customer__in=[survivor.pk, loser.pk])
        .order_by("pk")
    }
    lost = members.get(loser.pk)
    if lost is None:
        return 0
    allow_ledger_reassign()
    kept = members.get(survivor.pk)
    if kept is None:
        Member.objects.filter(pk=lost.pk).update(customer=survivor)
        moved = PointsEntry.objects.filter(member=lost)._reassign(customer=survivor)
        PointsLot.objects.filter(member=lost).update(customer=survivor)
        return moved + 1
    moved = PointsEntry.objects.filter(member=lost)._reassign(member=kept, customer=survivor)
    PointsLot.objects.filter(member=lost).update(member=kept, customer=survivor)
    AdjustmentProposal.objects.filter(member=lost).update(member=kept)
    MemberNumberAlias.objects.filter(member=lost).update(member=kept)
    MemberNumberAlias.objects.create(number=lost.number, member=kept)
    balance = lost.points_balance
    Member.objects.filter(pk=lost.pk).update(
        points_balance=0,
        status=MemberStatus.CLOSED,
        status_reason=f"merged into {kept.number}",
        merged_into=kept,
    )
    updates: dict[str, Any] = {"points_balance": F("points_balance") + balance}
    if lost.status == MemberStatus.FROZEN and kept.status == MemberStatus.ACTIVE:
        updates.update(status=MemberStatus.FROZEN, status_reason=lost.status_reason)
    Member.objects.filter(pk=kept.pk).update(**updates)
    kept.points_balance += balance
    if lost.level is not None and (kept.level is None or lost.level.rank > kept.level.rank):
        change_level(kept, lost.level, reason=LevelChangeReason.MERGE, at=timezone.now())
    return moved + 1
