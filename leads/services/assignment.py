"""Assignment on intake (a team pool's round-robin or least-loaded strategy) and the rep's
load as the screens show it. Same locks and rules as claiming (``leads.services.claiming``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from leads.errors import HoldLimitReached
from leads.models import (
    HELD_STATUSES,
    AssignmentStrategy,
    Lead,
    LeadEventKind,
    LeadPool,
    LeadPoolMember,
    PoolKind,
    PoolRole,
    RepHolding,
)
from leads.services.claiming import check_hold, held_count, limits_for, lock_holding, take_lead
from leads.services.common import lead_label, notify


def _pool_reps(pool: LeadPool) -> list[int]:
    if pool.kind == PoolKind.PUBLIC:
        return []  # the public pool is claimed, never pushed to someone
    return list(
        LeadPoolMember.objects.filter(pool=pool, role=PoolRole.REP, user__is_active=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


def assign_on_intake(*, lead: Lead, now: datetime) -> Lead:
    """A team pool that assigns on intake gives the new lead to a rep with room: the next
    in turn (round-robin) or the one holding the fewest (least loaded). Nobody has room:
    the lead waits in the pool. Runs inside intake's transaction."""
    pool = lead.pool
    if pool.strategy == AssignmentStrategy.CLAIM:
        return lead
    reps = _pool_reps(pool)
    if not reps:
        return lead
    if pool.strategy == AssignmentStrategy.ROUND_ROBIN:
        locked_pool = LeadPool.objects.select_for_update().get(pk=pool.pk)
        start = locked_pool.round_robin_cursor % len(reps)
        order = reps[start:] + reps[:start]
    else:
        loads = dict(
            Lead.objects.filter(owner__in=reps, business_unit_id=lead.business_unit_id)
            .filter(status__in=HELD_STATUSES)
            .values("owner")
            .annotate(n=Count("pk"))
            .values_list("owner", "n")
        )
        order = sorted(reps, key=lambda r: (loads.get(r, 0), r))
    users = get_user_model().objects.in_bulk(order)
    for rep_id in order:
        rep = users[rep_id]
        lock_holding(rep, lead.business_unit_id)
        try:
            check_hold(rep, lead.business_unit_id, limits_for(rep, pool))
        except HoldLimitReached:
            continue
        take_lead(lead, rep, kind=LeadEventKind.ASSIGNED, actor=None, now=now, reason=pool.strategy)
        notify(
            rep.pk,
            lead,
            LeadEventKind.ASSIGNED,
            lambda lead=lead: _("New lead “%(lead)s” assigned to you.")
            % {"lead": lead_label(lead)},
            at=now,
        )
        if pool.strategy == AssignmentStrategy.ROUND_ROBIN:
            LeadPool.objects.filter(pk=pool.pk).update(
                round_robin_cursor=(reps.index(rep_id) + 1) % len(reps)
            )
        break
    return lead


def rep_load(
    user: Any, unit_id: int, pool: LeadPool, now: datetime | None = None
) -> dict[str, int]:
    """What a rep's screen shows: held / limit, claims today / quota."""
    now = now or timezone.now()
    limits = limits_for(user, pool)
    holding = RepHolding.objects.filter(user=user, business_unit_id=unit_id).first()
    today = timezone.localdate(now)
    claims = holding.claims_today if holding and holding.claims_on == today else 0
    return {
        "held": held_count(user, unit_id),
        "hold_limit": limits.hold_limit,
        "claims_today": claims,
        "daily_quota": limits.daily_quota,
    }
