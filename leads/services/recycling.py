"""Recycling: leads nobody works go back to the unit's public pool (公海).

Run by a beat task, set-based per pool and in batches, idempotent (a second run finds nothing
left to do), safe against a follow-up logged at the same moment:

1. a held lead whose rep did not follow up within N days of the claim (or of the last
   follow-up), or did not convert it within M days of the claim, goes back to the public pool
   unclaimed, with the reason recorded and the rep notified; the rep cannot re-claim it during
   the pool's cooldown;
2. the holder of a lead that will go back within D days is warned once (in-app notice);
3. a team pool's lead nobody claimed within its days moves to the public pool.

Each batch locks its leads with ``FOR UPDATE SKIP LOCKED`` and re-checks the deadline under
the lock: a lead a rep is following up right now is skipped (and its follow-up, once
committed, moved the deadline); a lead recycled first refuses the late follow-up."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.services.notifications import notify
from leads.models import (
    HELD_STATUSES,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadPool,
    LeadStatus,
    PoolKind,
)
from leads.services.common import EVENT_RECYCLED, lead_label, public_pool, timeline

REASON_NO_FOLLOW_UP = "no_follow_up"
REASON_NOT_CONVERTED = "not_converted"
REASON_UNCLAIMED = "unclaimed"


@dataclass
class RecycleReport:
    recycled: int = 0
    warned: int = 0
    moved: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"recycled": self.recycled, "warned": self.warned, "moved": self.moved}


def _due_filter(pool: LeadPool, at: datetime) -> Q:
    """Held leads of ``pool`` whose deadline is at or before ``at``."""
    return Q(last_touch__lte=at - timedelta(days=pool.follow_up_days)) | Q(
        claimed_at__lte=at - timedelta(days=pool.convert_days)
    )


def _held(pool: LeadPool) -> QuerySet[Lead]:
    return Lead.objects.filter(pool=pool, status__in=HELD_STATUSES, owner__isnull=False).annotate(
        last_touch=Coalesce("last_follow_up_at", "claimed_at")
    )


def _batches(queryset: QuerySet[Lead], batch_size: int) -> Any:
    """Ids in ascending batches (keyset), so that a batch's work never revisits a row."""
    after = 0
    while True:
        ids = list(
            queryset.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return
        yield ids
        after = ids[-1]


def recycle_overdue_leads(*, now: datetime | None = None, batch_size: int = 1000) -> RecycleReport:
    now = now or timezone.now()
    report = RecycleReport()
    for pool in LeadPool.objects.filter(is_active=True).order_by("pk"):
        target = public_pool(pool.business_unit_id)
        report.recycled += _recycle(pool, target, now, batch_size)
        report.warned += _warn(pool, now, batch_size)
        if pool.kind == PoolKind.TEAM:
            report.moved += _move_unclaimed(pool, target, now, batch_size)
    return report


def _recycle(pool: LeadPool, target: LeadPool, now: datetime, batch_size: int) -> int:
    due = _held(pool).filter(_due_filter(pool, now))
    done = 0
    for ids in _batches(due, batch_size):
        with transaction.atomic():
            rows = list(
                # Re-checked under the lock: a follow-up committed meanwhile moved the deadline.
                _held(pool)
                .filter(_due_filter(pool, now), pk__in=ids)
                .select_for_update(skip_locked=True, of=("self",))
                .values("pk", "owner_id", "status", "claimed_at", "customer_id")
            )
            if not rows:
                continue
            locked_ids = [r["pk"] for r in rows]
            Lead.objects.filter(pk__in=locked_ids).update(
                owner=None,
                status=LeadStatus.NEW,
                pool=target,
                claimed_at=None,
                recycle_warned_at=None,
                next_follow_up_at=None,
                pooled_at=now,
                updated_at=now,
            )
            convert_limit = now - timedelta(days=pool.convert_days)
            events: list[LeadEvent] = []
            notices: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
            leads = Lead.objects.in_bulk(locked_ids)
            for row in rows:
                reason = (
                    REASON_NOT_CONVERTED
                    if row["claimed_at"] is not None and row["claimed_at"] <= convert_limit
                    else REASON_NO_FOLLOW_UP
                )
                lead = leads[row["pk"]]
                events.append(
                    LeadEvent(
                        lead_id=row["pk"],
                        kind=LeadEventKind.RECYCLED,
                        at=now,
                        from_owner_id=row["owner_id"],
                        from_pool_id=pool.pk,
                        to_pool_id=target.pk,
                        from_status=row["status"],
                        to_status=LeadStatus.NEW,
                        reason=reason,
                    )
                )
                days = pool.convert_days if reason == REASON_NOT_CONVERTED else pool.follow_up_days
                notices[row["owner_id"]].append((lead_label(lead), reason, days))
                if row["customer_id"] is not None:
                    timeline(
                        lead,
                        EVENT_RECYCLED,
                        _("Lead recycled to the public pool"),
                        at=now,
                        reason=reason,
                    )
            LeadEvent.objects.bulk_create(events)
            for owner_id, lines in notices.items():
                _tell_recycled(owner_id, lines, now)
            done += len(rows)
    return done


def _recycled_line(label: str, reason: str, days: int) -> str:
    if reason == REASON_NOT_CONVERTED:
        message = _("“%(lead)s” went back to the public pool: not converted in %(n)d days.")
    else:
        message = _("“%(lead)s” went back to the public pool: no follow-up in %(n)d days.")
    return message % {"lead": label, "n": days}


def _tell_recycled(owner_id: int, lines: list[tuple[str, str, int]], now: datetime) -> None:
    """One notification per rep and batch, in the rep's language (one INSERT)."""
    notify(
        owner_id,
        kind="leads.recycled",
        title=lambda: ngettext(
            "%(n)d of your leads went back to the public pool",
            "%(n)d of your leads went back to the public pool",
            len(lines),
        )
        % {"n": len(lines)},
        body=lambda: "\n".join(_recycled_line(*line) for line in lines[:50]),
        now=now,
    )


def _warn(pool: LeadPool, now: datetime, batch_size: int) -> int:
    if pool.warn_days == 0:
        return 0
    soon = now + timedelta(days=pool.warn_days)
    due = _held(pool).filter(_due_filter(pool, soon), recycle_warned_at__isnull=True)
    done = 0
    for ids in _batches(due, batch_size):
        with transaction.atomic():
            leads = list(
                _held(pool)
                .filter(_due_filter(pool, soon), pk__in=ids, recycle_warned_at__isnull=True)
                .select_for_update(skip_locked=True, of=("self",))
            )
            if not leads:
                continue
            Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(recycle_warned_at=now)
            events: list[LeadEvent] = []
            notices: dict[int, list[tuple[str, datetime | None, int]]] = defaultdict(list)
            for lead in leads:
                due_at = lead.recycle_due_at(pool)
                days_left = max(0, (due_at - now).days) if due_at else 0
                events.append(
                    LeadEvent(
                        lead_id=lead.pk,
                        kind=LeadEventKind.RECYCLE_WARNING,
                        at=now,
                        to_owner_id=lead.owner_id,
                        reason="warning",
                        data={"due_at": due_at.isoformat() if due_at else None},
                    )
                )
                notices[int(lead.owner_id or 0)].append((lead_label(lead), due_at, days_left))
            LeadEvent.objects.bulk_create(events)
            for owner_id, lines in notices.items():
                _tell_warned(owner_id, lines, now)
            done += len(leads)
    return done


def _warned_line(label: str, due_at: datetime | None, days_left: int) -> str:
    return _(
        "“%(lead)s” goes back to the public pool on %(date)s (%(days)d days left) unless you "
        "follow it up."
    ) % {
        "lead": label,
        "date": formats.date_format(timezone.localtime(due_at), "SHORT_DATE_FORMAT")
        if due_at
        else "",
        "days": days_left,
    }


def _tell_warned(
    owner_id: int, lines: list[tuple[str, datetime | None, int]], now: datetime
) -> None:
    notify(
        owner_id,
        kind="leads.recycle_warning",
        title=lambda: ngettext(
            "%(n)d of your leads go back to the public pool soon",
            "%(n)d of your leads go back to the public pool soon",
            len(lines),
        )
        % {"n": len(lines)},
        body=lambda: "\n".join(_warned_line(*line) for line in lines[:50]),
        now=now,
    )


def _move_unclaimed(pool: LeadPool, target: LeadPool, now: datetime, batch_size: int) -> int:
    stale = Q(
        pool=pool,
        owner__isnull=True,
        status=LeadStatus.NEW,
        pooled_at__lte=now - timedelta(days=pool.unclaimed_days),
    )
    done = 0
    for ids in _batches(Lead.objects.filter(stale), batch_size):
        with transaction.atomic():
            locked = list(
                Lead.objects.filter(stale, pk__in=ids)
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)
            )
            if not locked:
                continue
            Lead.objects.filter(pk__in=locked).update(pool=target, pooled_at=now, updated_at=now)
            LeadEvent.objects.bulk_create(
                LeadEvent(
                    lead_id=pk,
                    kind=LeadEventKind.MOVED,
                    at=now,
                    from_pool_id=pool.pk,
                    to_pool_id=target.pk,
                    reason=REASON_UNCLAIMED,
                )
                for pk in locked
            )
            done += len(locked)
    return done
