"""Working a held lead: follow-ups, qualifying, losing it with a reason.

A follow-up locks the lead and is accepted only from the rep holding it at that moment: when
the recycling task took the lead back a moment before, the follow-up is refused
(``lead_not_held``); when the follow-up came first, the recycling task (which re-checks the
deadline under its own lock) leaves the lead alone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leads.errors import InvalidTransition, LeadError, LeadNotAllowed, LeadNotHeld
from leads.models import (
    FollowUp,
    FollowUpKind,
    FollowUpOutcome,
    Lead,
    LeadEventKind,
    LeadStatus,
    LostReason,
)
from leads.services.claiming import may_manage
from leads.services.common import EVENT_FOLLOWED_UP, EVENT_LOST, history, timeline


def _lock_held(lead: Lead | int, user: Any, *, manager_too: bool = False) -> Lead:
    lead_id = lead if isinstance(lead, int) else lead.pk
    locked = Lead.objects.select_for_update().get(pk=lead_id)
    if locked.is_held and locked.owner_id == user.pk:
        return locked
    if manager_too and locked.is_held and may_manage(user, locked.business_unit_id):
        return locked
    raise LeadNotHeld(_("You do not hold this lead (any more): it may have gone back to the pool."))


def log_follow_up(
    *,
    lead: Lead | int,
    user: Any,
    kind: str,
    note: str = "",
    outcome: str = "",
    next_step: str = "",
    next_action_at: datetime | None = None,
    occurred_at: datetime | None = None,
    now: datetime | None = None,
) -> FollowUp:
    """Record a follow-up by the rep holding the lead; the lead becomes ``contacted`` (a
    qualified lead stays qualified), its last and next follow-up times move."""
    now = now or timezone.now()
    occurred_at = occurred_at or now
    if kind not in FollowUpKind.values:
        raise LeadError(_("Choose how you followed up."), field="kind")
    if outcome and outcome not in FollowUpOutcome.values:
        raise LeadError(_("Choose an outcome from the list."), field="outcome")
    if occurred_at > now:
        raise LeadError(_("A follow-up cannot be in the future."), field="occurred_at")
    if next_action_at is not None and next_action_at <= occurred_at:
        raise LeadError(
            _("The next action must come after this follow-up."), field="next_action_at"
        )
    if len(next_step) > 200:
        raise LeadError(_("At most %(n)d characters.") % {"n": 200}, field="next_step")
    with transaction.atomic():
        locked = _lock_held(lead, user)
        follow_up = FollowUp.objects.create(
            lead=locked,
            author=user,
            kind=kind,
            outcome=outcome,
            note=note.strip()[:5000],
            next_step=next_step.strip(),
            next_action_at=next_action_at,
            occurred_at=occurred_at,
            created_at=now,
        )
        from_status = locked.status
        if locked.status == LeadStatus.ASSIGNED:
            locked.status = LeadStatus.CONTACTED
        if locked.last_follow_up_at is None or occurred_at > locked.last_follow_up_at:
            locked.last_follow_up_at = occurred_at
        if locked.first_contacted_at is None:
            locked.first_contacted_at = occurred_at
        locked.next_follow_up_at = next_action_at
        locked.recycle_warned_at = None
        locked.save(
            update_fields=[
                "status",
                "last_follow_up_at",
                "first_contacted_at",
                "next_follow_up_at",
                "recycle_warned_at",
                "updated_at",
            ]
        )
        history(
            locked,
            LeadEventKind.FOLLOWED_UP,
            at=now,
            actor=user,
            from_status=from_status,
            to_status=locked.status,
            reason=kind,
            note=note,
            data={"follow_up": follow_up.pk, "outcome": outcome},
        )
        timeline(
            locked,
            EVENT_FOLLOWED_UP,
            _("Lead followed up: %(kind)s") % {"kind": follow_up.get_kind_display()},
            at=occurred_at,
            actor=user,
            kind=kind,
        )
    return follow_up


def set_status(*, lead: Lead | int, user: Any, status: str, now: datetime | None = None) -> Lead:
    """Move a held lead along the machine by hand: contacted ↔ qualified (the kanban's drag).
    Claiming, releasing, losing and converting have their own verbs."""
    now = now or timezone.now()
    if status not in (LeadStatus.CONTACTED, LeadStatus.QUALIFIED):
        raise InvalidTransition(
            _("Use claim, release, lose or convert for this change."), field="status"
        )
    with transaction.atomic():
        locked = _lock_held(lead, user, manager_too=True)
        if locked.status == status:
            return locked
        if not locked.can_move_to(status):
            raise InvalidTransition(
                _("A %(from)s lead cannot become %(to)s.")
                % {"from": locked.get_status_display(), "to": LeadStatus(status).label},
                field="status",
            )
        from_status = locked.status
        locked.status = status
        locked.save(update_fields=["status", "updated_at"])
        history(
            locked,
            LeadEventKind.STATUS,
            at=now,
            actor=user,
            from_status=from_status,
            to_status=status,
        )
    return locked


def qualify_lead(*, lead: Lead | int, user: Any, now: datetime | None = None) -> Lead:
    return set_status(lead=lead, user=user, status=LeadStatus.QUALIFIED, now=now)


def lose_lead(
    *, lead: Lead | int, user: Any, reason: str, note: str = "", now: datetime | None = None
) -> Lead:
    """Close an open lead as lost, with a reason (the holder, or a manager for any lead)."""
    now = now or timezone.now()
    if reason not in LostReason.values:
        raise LeadError(_("Choose why the lead was lost."), field="reason")
    if reason == LostReason.OTHER and not note.strip():
        raise LeadError(_("Say why the lead was lost."), field="note")
    lead_id = lead if isinstance(lead, int) else lead.pk
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead_id)
        if not locked.is_open:
            raise InvalidTransition(_("This lead is already closed."))
        if locked.owner_id != user.pk and not may_manage(user, locked.business_unit_id):
            raise LeadNotAllowed(_("Only the rep holding the lead or a manager closes it."))
        from_status = locked.status
        locked.status = LeadStatus.LOST
        locked.lost_reason = reason
        locked.lost_note = note.strip()[:300]
        locked.closed_at = now
        locked.save(update_fields=["status", "lost_reason", "lost_note", "closed_at", "updated_at"])
        history(
            locked,
            LeadEventKind.LOST,
            at=now,
            actor=user,
            from_status=from_status,
            to_status=LeadStatus.LOST,
            reason=reason,
            note=note,
        )
        timeline(
            locked,
            EVENT_LOST,
            _("Lead lost: %(reason)s") % {"reason": LostReason(reason).label},
            at=now,
            actor=user,
            reason=reason,
        )
    return locked
