"""Manual adjustments: a reason and ``members.adjust_points``; an adjustment larger than the
programme's threshold (either way) becomes a proposal that another person holding
``members.approve_adjustment`` approves or rejects (four eyes, as for the blacklist: the
proposal is locked, its state re-checked, and the database refuses a decider who proposed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.services.customers import record_event
from members.errors import (
    AdjustmentRefused,
    InsufficientPoints,
    InvalidPointsRequest,
    NotAllowed,
)
from members.models import (
    AdjustmentProposal,
    AdjustmentStatus,
    EarningRule,
    EntryKind,
    Member,
    ProgramSettings,
)
from members.services.ledger import (
    PointsResult,
    add_lot,
    consume,
    expire_member_lots,
    lock_member,
    move_balance,
    refuse_if_blacklisted,
    replayed,
    require_open,
    usable_lots,
    write_entry,
)

ADJUST_PERMISSION = "members.adjust_points"
APPROVE_PERMISSION = "members.approve_adjustment"
EVENT_ADJUSTED = "points.adjusted"
EVENT_ADJUSTMENT_PROPOSED = "points.adjustment_proposed"
DEFAULT_VALIDITY_MONTHS = 24


def _require(user: Any, permission: str, message: str) -> None:
    if not (getattr(user, "pk", None) and user.is_active and user.has_perm(permission)):
        raise NotAllowed(message)


def _clean(points: Any, reason: str) -> tuple[int, str]:
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidPointsRequest(_("Give a whole number of points, not zero."), field="points")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidPointsRequest(_("Say why the points are adjusted."), field="reason")
    return points, reason[:300]


def apply_adjustment(
    *,
    member: Member | int,
    business_unit: Any,
    points: int,
    reason: str,
    actor: Any,
    reference: str = "",
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> PointsResult:
    """Write the adjustment (no permission check: the callers check). A positive one forms
    a lot funded by ``business_unit`` (expiring at ``expires_at`` or after the unit's
    validity); a negative one consumes lots oldest first and cannot go below zero. With a
    ``reference`` it applies once (an import's opening balance)."""
    points, reason = _clean(points, reason)
    unit_id = business_unit if isinstance(business_unit, int) else business_unit.pk
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_member(member)
        earlier = replayed(locked, unit_id, [EntryKind.ADJUST], reference)
        if earlier is not None:
            return PointsResult(locked, earlier, replayed=True)
        require_open(locked)
        if points > 0:
            refuse_if_blacklisted(locked)
        if expires_at is not None and expires_at <= now:
            raise InvalidPointsRequest(
                _("The expiry date must be in the future."), field="expires_at"
            )
        expire_member_lots(locked, now)
        if points < 0 and locked.points_balance < -points:
            raise InsufficientPoints(
                _("Only %(balance)d points are available; %(points)d were to be removed.")
                % {"balance": locked.points_balance, "points": -points},
                field="points",
            )
        entry = write_entry(
            locked,
            business_unit_id=unit_id,
            kind=EntryKind.ADJUST,
            points=points,
            reason=reason,
            reference=reference,
            actor=actor if getattr(actor, "pk", None) else None,
            created_at=now,
        )
        if points > 0:
            rule = EarningRule.objects.filter(business_unit_id=unit_id).first()
            months = rule.validity_months if rule else DEFAULT_VALIDITY_MONTHS
            add_lot(locked, entry, at=now, expires_at=expires_at, months=months)
        else:
            consume(entry, usable_lots(locked, now), -points)
        move_balance(locked, points)
        record_event(
            customer=locked.customer_id,
            type=EVENT_ADJUSTED,
            summary=f"{points:+d} points",
            business_unit=unit_id,
            actor=actor,
            occurred_at=now,
            data={"points": points, "reason": reason},
        )
    return PointsResult(locked, [entry])


def adjust_points(
    *,
    member: Member | int,
    business_unit: Any,
    points: int,
    reason: str,
    user: Any,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> PointsResult | AdjustmentProposal:
    """Staff adjust a member's points. Up to the threshold it applies now (a
    ``PointsResult``); above it an ``AdjustmentProposal`` waits for a second approver."""
    _require(user, ADJUST_PERMISSION, _("You may not adjust points."))
    points, reason = _clean(points, reason)
    if abs(points) <= ProgramSettings.current().adjustment_approval_threshold:
        return apply_adjustment(
            member=member,
            business_unit=business_unit,
            points=points,
            reason=reason,
            actor=user,
            expires_at=expires_at,
            now=now,
        )
    with transaction.atomic():
        locked = lock_member(member)
        require_open(locked)
        proposal = AdjustmentProposal.objects.create(
            member=locked,
            business_unit_id=business_unit if isinstance(business_unit, int) else business_unit.pk,
            points=points,
            reason=reason,
            expires_at=expires_at,
            proposed_by=user,
            proposed_at=now or timezone.now(),
        )
        record_event(
            customer=locked.customer_id,
            type=EVENT_ADJUSTMENT_PROPOSED,
            summary=f"{points:+d} points proposed",
            business_unit=proposal.business_unit_id,
            actor=user,
            data={"points": points, "proposal": proposal.pk},
        )
    return proposal


def _decide(proposal: AdjustmentProposal | int, user: Any) -> AdjustmentProposal:
    _require(user, APPROVE_PERMISSION, _("You may not approve or reject adjustments."))
    pk = proposal if isinstance(proposal, int) else proposal.pk
    locked = AdjustmentProposal.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise AdjustmentRefused(_("This adjustment no longer exists."))
    if locked.status != AdjustmentStatus.PROPOSED:
        raise AdjustmentRefused(
            _("This adjustment is already “%(status)s”: someone decided it meanwhile.")
            % {"status": locked.get_status_display()}
        )
    if locked.proposed_by_id == user.pk:
        raise NotAllowed(_("Four eyes: you proposed this, so another approver must decide it."))
    return locked


def approve_adjustment(
    *,
    proposal: AdjustmentProposal | int,
    user: Any,
    comment: str = "",
    now: datetime | None = None,
) -> AdjustmentProposal:
    now = now or timezone.now()
    with transaction.atomic():
        locked = _decide(proposal, user)
        result = apply_adjustment(
            member=locked.member_id,
            business_unit=locked.business_unit_id,
            points=locked.points,
            reason=locked.reason,
            actor=locked.proposed_by,
            expires_at=locked.expires_at,
            now=now,
        )
        locked.status, locked.decided_by, locked.decided_at = AdjustmentStatus.APPROVED, user, now
        locked.decision_comment, locked.entry = (comment or "")[:300], result.entry
        locked.save(
            update_fields=["status", "decided_by", "decided_at", "decision_comment", "entry"]
        )
    return locked


def reject_adjustment(
    *, proposal: AdjustmentProposal | int, user: Any, comment: str, now: datetime | None = None
) -> AdjustmentProposal:
    comment = (comment or "").strip()
    if not comment:
        raise InvalidPointsRequest(_("Say why the adjustment is rejected."), field="comment")
    with transaction.atomic():
        locked = _decide(proposal, user)
        locked.status, locked.decided_by = AdjustmentStatus.REJECTED, user
        locked.decided_at, locked.decision_comment = now or timezone.now(), comment[:300]
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
    return locked
