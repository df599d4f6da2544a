"""Claiming, assigning, transferring and releasing leads under the pools' rules.

Every movement takes its locks first, in one order (the rep's ``RepHolding`` row, then the
lead rows), re-checks the rules under them, writes, then records the history:

- the hold limit counts the rep's held leads in the unit (every pool) while the rep's holding
  row is locked, so two claims of one rep are serialized and neither can pass the limit; the
  count is of the leads themselves, so it cannot drift;
- the daily quota is counted on the same locked row;
- ``claim_next`` picks the oldest unclaimed lead with ``FOR UPDATE SKIP LOCKED``: sixteen reps
  claiming at once each get a different lead without waiting for each other;
- ``claim_lead`` locks the chosen lead: of two reps clicking the same lead, the second is
  told ``already_claimed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.policy import sees_all_units, visible_unit_ids
from leads.errors import (
    AlreadyClaimed,
    ClaimCooldown,
    DailyQuotaReached,
    HoldLimitReached,
    InvalidTransition,
    LeadNotAllowed,
    LeadQuarantined,
)
from leads.models import (
    HELD_STATUSES,
    OPEN_STATUSES,
    HoldLimit,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadPool,
    LeadStatus,
    PoolKind,
    RepHolding,
)
from leads.services.common import (
    EVENT_ASSIGNED,
    EVENT_CLAIMED,
    history,
    lead_label,
    notify,
    timeline,
)


@dataclass(frozen=True)
class Limits:
    hold_limit: int
    daily_quota: int


def limits_for(user: Any, pool: LeadPool) -> Limits:
    """The pool's limits for the user's roles (the most generous role rule), else the pool's."""
    roles = user.role_names() if hasattr(user, "role_names") else frozenset()
    rules = list(HoldLimit.objects.filter(pool=pool, role__in=list(roles)))
    if not rules:
        return Limits(pool.hold_limit, pool.daily_claim_quota)
    return Limits(max(r.hold_limit for r in rules), max(r.daily_claim_quota for r in rules))


def held_count(user: Any, unit_id: int) -> int:
    return Lead.objects.filter(
        owner=user, business_unit_id=unit_id, status__in=HELD_STATUSES
    ).count()


def lock_holding(user: Any, unit_id: int) -> RepHolding:
    """The rep's lock row for the unit, locked (created on first use; safe when two callers
    race): one statement once the row exists."""
    mine = RepHolding.objects.select_for_update().filter(user_id=user.pk, business_unit_id=unit_id)
    holding = mine.first()
    if holding is not None:
        return holding
    RepHolding.objects.bulk_create(
        [RepHolding(user_id=user.pk, business_unit_id=unit_id)], ignore_conflicts=True
    )
    return mine.get()


# Locks the rep's holding row as ``SELECT … FOR UPDATE`` would (a concurrent claim of the same
# rep waits here, then counts on the row it committed) and counts this claim in the day's quota.
_LOCK_AND_COUNT_CLAIM_SQL = """
UPDATE leads_repholding
SET claims_today = CASE WHEN claims_on = %s THEN claims_today + 1 ELSE 1 END, claims_on = %s
WHERE user_id = %s AND business_unit_id = %s
RETURNING claims_today
"""


def lock_for_claim(user: Any, unit_id: int, today: Any) -> int:
    """Lock the rep's holding row and count this claim in the day's quota, in one statement;
    the day's claims including this one. Any refusal raised afterwards in the transaction
    rolls the count back with the rest."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_AND_COUNT_CLAIM_SQL, [today, today, user.pk, unit_id])
        row = cursor.fetchone()
    if row is None:  # the rep's first claim in the unit: make the row, then count
        lock_holding(user, unit_id)
        return lock_for_claim(user, unit_id, today)
    return int(row[0])


def check_hold(user: Any, unit_id: int, limits: Limits, adding: int = 1) -> int:
    held = held_count(user, unit_id)
    refuse_hold(held, limits, adding)
    return held


def refuse_hold(held: int, limits: Limits, adding: int) -> None:
    if held + adding > limits.hold_limit:
        raise HoldLimitReached(
            _(
                "You already hold %(held)d leads; the limit is %(limit)d. Convert, close or "
                "release some first."
            )
            % {"held": held, "limit": limits.hold_limit}
        )


def check_quota(claims: int, limits: Limits) -> None:
    """``claims``: the day's claims including this one (``lock_for_claim``)."""
    if claims > limits.daily_quota:
        raise DailyQuotaReached(
            _("You have claimed %(n)d leads today, the daily quota. Claim again tomorrow.")
            % {"n": claims - 1}
        )


def _in_cooldown(user: Any, pool: LeadPool, now: datetime) -> Any:
    """Ids of leads recycled from ``user`` within the pool's cooldown (a subquery)."""
    return LeadEvent.objects.filter(
        kind=LeadEventKind.RECYCLED,
        from_owner=user,
        at__gt=now - timedelta(days=pool.cooldown_days),
    ).values("lead_id")


def may_work_pool(user: Any, pool: LeadPool) -> bool:
    """A rep works the public pool of their units and the team pools they belong to."""
    if sees_all_units(user):
        return True
    if not user.has_perm("leads.claim_lead"):
        return False
    # The user's units as the request already read them (crm.policy caches them per user).
    if pool.business_unit_id not in (visible_unit_ids(user) or set()):
        return False
    return pool.kind == PoolKind.PUBLIC or pool.memberships.filter(user=user).exists()


def may_manage(user: Any, unit_id: int) -> bool:
    if sees_all_units(user):
        return True
    return bool(user.has_perm("leads.manage_lead") and unit_id in (visible_unit_ids(user) or set()))


def take_lead(
    lead: Lead,
    user: Any,
    *,
    kind: str,
    actor: Any,
    now: datetime,
    reason: str = "",
    note: str = "",
) -> None:
    """Write the movement of ``lead`` (locked) to ``user``."""
    from_owner, from_status = lead.owner_id, lead.status
    lead.owner = user
    lead.claimed_at = now
    lead.recycle_warned_at = None
    if lead.status == LeadStatus.NEW:
        lead.status = LeadStatus.ASSIGNED
    lead.save(update_fields=["owner", "claimed_at", "recycle_warned_at", "status", "updated_at"])
    history(
        lead,
        kind,
        at=now,
        actor=actor,
        from_owner=from_owner,
        to_owner=user,
        to_pool=lead.pool_id,
        from_status=from_status,
        to_status=lead.status,
        reason=reason,
        note=note,
    )


def claim_lead(*, lead: Lead | int, user: Any, now: datetime | None = None) -> Lead:
    """The rep claims this lead from its pool."""
    now = now or timezone.now()
    lead_id = lead if isinstance(lead, int) else lead.pk
    unit_id, pool_id = Lead.objects.values_list("business_unit_id", "pool_id").get(pk=lead_id)
    pool = LeadPool.objects.get(pk=pool_id)
    if not may_work_pool(user, pool):
        raise LeadNotAllowed(_("You do not work this pool."))
    limits = limits_for(user, pool)
    with transaction.atomic():
        claims = lock_for_claim(user, unit_id, timezone.localdate(now))
        locked = Lead.objects.select_for_update().get(pk=lead_id)
        if locked.owner_id is not None or locked.status != LeadStatus.NEW:
            if locked.owner_id == user.pk:
                raise AlreadyClaimed(_("You already hold this lead."))
            raise AlreadyClaimed(_("Somebody claimed this lead a moment ago."))
        if locked.quarantined:
            raise LeadQuarantined(
                _("This lead is quarantined: %(reason)s") % {"reason": locked.quarantine_reason}
            )
        if locked.pool_id != pool.pk:  # moved to another pool meanwhile
            raise AlreadyClaimed(_("This lead moved to another pool a moment ago."))
        if _in_cooldown(user, pool, now).filter(lead_id=lead_id).exists():
            raise ClaimCooldown(
                _("This lead was recycled from you less than %(n)d days ago.")
                % {"n": pool.cooldown_days}
            )
        check_hold(user, unit_id, limits)
        check_quota(claims, limits)
        take_lead(locked, user, kind=LeadEventKind.CLAIMED, actor=user, now=now)
        timeline(locked, EVENT_CLAIMED, _("Lead claimed"), at=now, actor=user)
    return locked


def _check_assignee(to_user: Any, unit_id: int) -> None:
    if not to_user.is_active or not to_user.business_units.filter(pk=unit_id).exists():
        raise LeadNotAllowed(_("This rep does not work in the lead's business unit."))


def assign_leads(
    *,
    leads: list[Lead | int],
    to_user: Any,
    actor: Any,
    now: datetime | None = None,
) -> list[Lead]:
    """A manager assigns (unclaimed) or transfers (held) leads to a rep: all of them or none,
    within the rep's hold limit (the daily claim quota is the reps' own, not counted here)."""
    now = now or timezone.now()
    ids = sorted({lead if isinstance(lead, int) else lead.pk for lead in leads})
    if not ids:
        return []
    units = set(Lead.objects.filter(pk__in=ids).values_list("business_unit_id", flat=True))
    if len(units) != 1:
        raise LeadNotAllowed(_("Assign the leads of one business unit at a time."))
    (unit_id,) = units
    if not may_manage(actor, unit_id):
        raise LeadNotAllowed(_("Only a manager of this unit assigns and transfers leads."))
    _check_assignee(to_user, unit_id)
    with transaction.atomic():
        lock_holding(to_user, unit_id)
        locked = list(Lead.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        if len(locked) != len(ids):
            raise InvalidTransition(_("A lead of the selection no longer exists."))
        moving = [lead for lead in locked if lead.owner_id != to_user.pk]
        for lead in moving:
            if lead.status not in OPEN_STATUSES:
                raise InvalidTransition(
                    _("“%(lead)s” is closed (%(status)s).")
                    % {"lead": lead_label(lead), "status": lead.get_status_display()}
                )
            if lead.quarantined:
                raise LeadQuarantined(
                    _("“%(lead)s” is quarantined: %(reason)s")
                    % {"lead": lead_label(lead), "reason": lead.quarantine_reason}
                )
        pools = {lead.pool_id for lead in moving}
        limit = (
            max(
                limits_for(to_user, pool).hold_limit
                for pool in LeadPool.objects.filter(pk__in=pools)
            )
            if pools
            else 0
        )
        if moving:
            check_hold(to_user, unit_id, Limits(limit, 0), adding=len(moving))
        for lead in moving:
            previous = lead.owner_id
            kind = LeadEventKind.TRANSFERRED if previous else LeadEventKind.ASSIGNED
            take_lead(lead, to_user, kind=kind, actor=actor, now=now)
            timeline(lead, EVENT_ASSIGNED, _("Lead assigned"), at=now, actor=actor)
            notify(
                to_user.pk,
                lead,
                kind,
                lambda lead=lead: _("“%(lead)s” was assigned to you.") % {"lead": lead_label(lead)},
                at=now,
            )
            if previous:
                notify(
                    previous,
                    lead,
                    kind,
                    lambda lead=lead: _("“%(lead)s” was transferred to another rep.")
                    % {"lead": lead_label(lead)},
                    at=now,
                )
    return locked


def assign_lead(*, lead: Lead | int, to_user: Any, actor: Any, now: datetime | None = None) -> Lead:
    return assign_leads(leads=[lead], to_user=to_user, actor=actor, now=now)[0]


def release_lead(
    *, lead: Lead | int, actor: Any, note: str = "", now: datetime | None = None
) -> Lead:
    """The holder (or a manager) gives the lead back to its pool, unclaimed."""
    now = now or timezone.now()
    lead_id = lead if isinstance(lead, int) else lead.pk
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead_id)
        if not locked.is_held:
            raise InvalidTransition(_("Nobody holds this lead."))
        if locked.owner_id != actor.pk and not may_manage(actor, locked.business_unit_id):
            raise LeadNotAllowed(_("Only the rep holding the lead or a manager releases it."))
        previous, from_status = locked.owner_id, locked.status
        locked.owner = None
        locked.status = LeadStatus.NEW
        locked.claimed_at = None
        locked.recycle_warned_at = None
        locked.next_follow_up_at = None
        locked.pooled_at = now
        locked.save(
            update_fields=[
                "owner",
                "status",
                "claimed_at",
                "recycle_warned_at",
                "next_follow_up_at",
                "pooled_at",
                "updated_at",
            ]
        )
        history(
            locked,
            LeadEventKind.RELEASED,
            at=now,
            actor=actor,
            from_owner=previous,
            from_pool=locked.pool_id,
            to_pool=locked.pool_id,
            from_status=from_status,
            to_status=LeadStatus.NEW,
            reason="released",
            note=note,
        )
    return locked


__all__ = [
    "Limits",
    "assign_lead",
    "assign_leads",
    "claim_lead",
    "held_count",
    "limits_for",
    "lock_for_claim",
    "lock_holding",
    "may_manage",
    "may_work_pool",
    "release_lead",
]
