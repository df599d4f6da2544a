"""The blacklist's use cases. Four eyes live here, so that the admin, the API and the web UI
cannot bypass them: whoever approves or rejects a step holds ``crm.approve_blacklistentry``
and is not the one who proposed it. Every decision locks the entry first and re-checks its
state, so two approvers at once make one change. Every step writes a timeline event (never
the evidence: the timeline is read by everybody who sees the customer)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Customer
from crm.models.blacklist import (
    BINDING_STATUSES,
    BLACKLIST_TEXT_MAX,
    OPEN_STATUSES,
    BlacklistEntry,
    BlacklistReason,
    BlacklistStatus,
)
from crm.selectors.blacklist import active_blacklist_entry
from crm.services.customers import record_event

PROPOSE_PERMISSION = "crm.add_blacklistentry"
APPROVE_PERMISSION = "crm.approve_blacklistentry"

EVENT_PROPOSED = "blacklist.proposed"
EVENT_ACTIVATED = "blacklist.activated"
EVENT_REJECTED = "blacklist.rejected"
EVENT_LIFTING_PROPOSED = "blacklist.lifting_proposed"
EVENT_LIFTED = "blacklist.lifted"
EVENT_LIFTING_REJECTED = "blacklist.lifting_rejected"


class CustomerBlacklisted(DomainError):
    """What every app raises (through ``assert_not_blacklisted``) before it gives a
    blacklisted customer credit, points, coupons or a converted lead."""

    code = "customer_blacklisted"
    status = 409


class BlacklistRefused(DomainError):
    code = "blacklist_refused"
    status = 409


class BlacklistNotAllowed(DomainError):
    code = "blacklist_not_allowed"
    status = 403


def assert_not_blacklisted(customer: Customer | int) -> None:
    """Raise ``CustomerBlacklisted`` (naming since when and why) while the customer is
    blacklisted; a proposed, rejected or lifted entry does not count."""
    entry = active_blacklist_entry(customer)
    if entry is None:
        return
    raise CustomerBlacklisted(
        _(
            "This customer is blacklisted since %(date)s (%(reason)s): the group does not do "
            "this business with them. Ask an approver of the blacklist if this is wrong."
        )
        % {
            "date": localtime(entry.decided_at).date().isoformat(),
            "reason": entry.get_reason_display(),
        }
    )


def _text(value: str | None, field: str, *, required: bool, label: str) -> str:
    value = (value or "").strip()
    if required and not value:
        raise BlacklistRefused(_("%(field)s is required.") % {"field": label}, field=field)
    if len(value) > BLACKLIST_TEXT_MAX:
        raise BlacklistRefused(
            _("%(field)s holds at most %(max)d characters; this one has %(count)d.")
            % {"field": label, "max": BLACKLIST_TEXT_MAX, "count": len(value)},
            field=field,
        )
    return value


def _require(user: Any, permission: str, message: str) -> None:
    if not (getattr(user, "pk", None) and user.is_active and user.has_perm(permission)):
        raise BlacklistNotAllowed(message)


def _event(entry: BlacklistEntry, type_: str, summary: str, actor: Any, **data: Any) -> None:
    record_event(
        customer=entry.customer_id,
        type=type_,
        summary=summary,
        actor=actor,
        data={"entry": entry.pk, "reason": entry.reason, **data},
    )


def propose_blacklisting(
    *, customer: Customer, user: Any, reason: str, evidence: str, scope_note: str = ""
) -> BlacklistEntry:
    """Propose to blacklist a customer; another person approves it."""
    _require(user, PROPOSE_PERMISSION, _("You may not propose a blacklisting."))
    if reason not in BlacklistReason.values:
        raise BlacklistRefused(_("Choose a reason from the list."), field="reason")
    evidence = _text(evidence, "evidence", required=True, label=_("Evidence"))
    scope_note = _text(scope_note, "scope_note", required=False, label=_("Scope note"))
    with transaction.atomic():
        live = Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk).first()
        if live is None or live.merged_into_id is not None:
            raise BlacklistRefused(_("This customer was merged into another; open that one."))
        if BlacklistEntry.objects.filter(customer=live, status__in=OPEN_STATUSES).exists():
            raise BlacklistRefused(
                _("This customer already has an open blacklist entry; decide that one first.")
            )
        try:
            with transaction.atomic():
                entry = BlacklistEntry.objects.create(
                    customer=live,
                    reason=reason,
                    evidence=evidence,
                    scope_note=scope_note,
                    proposed_by=user,
                    proposed_at=timezone.now(),
                )
        except IntegrityError as exc:  # a second proposal raced past the check
            raise BlacklistRefused(
                _("This customer already has an open blacklist entry; decide that one first.")
            ) from exc
        _event(entry, EVENT_PROPOSED, "Blacklisting proposed", user)
    return entry


def _decide(
    entry: BlacklistEntry | int, user: Any, expected: str, proposer_field: str
) -> BlacklistEntry:
    """Lock the entry, check it still waits for this decision and that ``user`` may take it."""
    _require(user, APPROVE_PERMISSION, _("You may not approve or reject blacklist entries."))
    pk = entry if isinstance(entry, int) else entry.pk
    locked = BlacklistEntry.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise BlacklistRefused(_("This blacklist entry no longer exists."))
    if locked.status != expected:
        raise BlacklistRefused(
            _("This entry is already “%(status)s”: someone decided it meanwhile.")
            % {"status": locked.get_status_display()}
        )
    if getattr(locked, f"{proposer_field}_id") == user.pk:
        raise BlacklistNotAllowed(
            _("Four eyes: you proposed this, so another approver must decide it.")
        )
    return locked


def propose_lifting(*, entry: BlacklistEntry | int, user: Any, reason: str) -> BlacklistEntry:
    """Propose to lift an active blacklisting; it stays in force until approved."""
    _require(user, PROPOSE_PERMISSION, _("You may not propose to lift a blacklisting."))
    reason = _text(reason, "reason", required=True, label=_("Why lift it"))
    with transaction.atomic():
        pk = entry if isinstance(entry, int) else entry.pk
        locked = BlacklistEntry.objects.select_for_update().filter(pk=pk).first()
        if locked is None or locked.status != BlacklistStatus.ACTIVE:
            raise BlacklistRefused(_("Only an active blacklisting can be lifted."))
        locked.status = BlacklistStatus.LIFTING
        locked.lift_proposed_by, locked.lift_proposed_at = user, timezone.now()
        locked.lift_reason = reason
        # A new proposal after a rejected one: the last decision is forgotten.
        locked.lift_decided_by, locked.lift_decided_at, locked.lift_comment = None, None, ""
        locked.save()
        _event(locked, EVENT_LIFTING_PROPOSED, "Lifting of the blacklisting proposed", user)
    return locked


# The two steps that wait for a four-eyes decision: who proposed the step, and the fields
# recording who decided it, when and why.
_STEPS = {
    BlacklistStatus.PROPOSED: ("proposed_by", ("decided_by", "decided_at", "decision_comment")),
    BlacklistStatus.LIFTING: (
        "lift_proposed_by",
        ("lift_decided_by", "lift_decided_at", "lift_comment"),
    ),
}
# (step, approved?) -> the state the entry moves to, the timeline event and its summary
_OUTCOMES = {
    (BlacklistStatus.PROPOSED, True): (
        BlacklistStatus.ACTIVE,
        EVENT_ACTIVATED,
        "Customer blacklisted",
    ),
    (BlacklistStatus.PROPOSED, False): (
        BlacklistStatus.REJECTED,
        EVENT_REJECTED,
        "Blacklisting rejected",
    ),
    (BlacklistStatus.LIFTING, True): (BlacklistStatus.LIFTED, EVENT_LIFTED, "Blacklisting lifted"),
    # refusing to lift: the blacklisting stays active
    (BlacklistStatus.LIFTING, False): (
        BlacklistStatus.ACTIVE,
        EVENT_LIFTING_REJECTED,
        "Lifting of the blacklisting rejected",
    ),
}


def _decide_step(
    entry: BlacklistEntry | int, user: Any, *, step: BlacklistStatus, approve: bool, comment: str
) -> BlacklistEntry:
    """One four-eyes decision on the entry waiting in ``step``: a rejection needs a comment;
    lock, re-check, move the entry on, record who, when and why, and the timeline event."""
    comment = _text(comment, "comment", required=not approve, label=_("Comment"))
    proposer_field, fields = _STEPS[step]
    to, event, summary = _OUTCOMES[step, approve]
    with transaction.atomic():
        locked = _decide(entry, user, step, proposer_field)
        locked.status = to
        for name, value in zip(fields, (user, timezone.now(), comment), strict=True):
            setattr(locked, name, value)
        locked.save(update_fields=["status", *fields])
        _event(locked, event, summary, user)
    return locked


def approve_blacklisting(
    *, entry: BlacklistEntry | int, user: Any, comment: str = ""
) -> BlacklistEntry:
    return _decide_step(entry, user, step=BlacklistStatus.PROPOSED, approve=True, comment=comment)


def reject_blacklisting(*, entry: BlacklistEntry | int, user: Any, comment: str) -> BlacklistEntry:
    return _decide_step(entry, user, step=BlacklistStatus.PROPOSED, approve=False, comment=comment)


def approve_lifting(*, entry: BlacklistEntry | int, user: Any, comment: str = "") -> BlacklistEntry:
    return _decide_step(entry, user, step=BlacklistStatus.LIFTING, approve=True, comment=comment)


def reject_lifting(*, entry: BlacklistEntry | int, user: Any, comment: str) -> BlacklistEntry:
    """Refuse to lift: the blacklisting stays active."""
    return _decide_step(entry, user, step=BlacklistStatus.LIFTING, approve=False, comment=comment)


def _strictness(entry: BlacklistEntry) -> tuple[int, Any, int]:
    """Sort key: a binding entry before a proposal, then the older one."""
    return (0 if entry.status in BINDING_STATUSES else 1, entry.proposed_at, entry.pk)


def move_blacklist_entries(*, survivor: Customer, loser: Customer) -> int:
    """Merge handler: the loser's entries go to the survivor. If both have an open entry,
    the stricter one stays open (binding before proposed, then the older) and the other is
    closed with a note: a proposal as rejected, a binding entry as lifted."""
    open_entries = list(
        BlacklistEntry.objects.select_for_update()
        .filter(customer__in=[survivor, loser], status__in=OPEN_STATUSES)
        .order_by("id")
    )
    if len(open_entries) > 1:
        keep, *others = sorted(open_entries, key=_strictness)
        now = timezone.now()
        for other in others:
            other.note = _(
                "Closed when customer #%(loser)d was merged into #%(survivor)d: entry #%(keep)d "
                "stays open."
            ) % {"loser": loser.pk, "survivor": survivor.pk, "keep": keep.pk}
            if other.status == BlacklistStatus.PROPOSED:
                other.status, other.decided_at = BlacklistStatus.REJECTED, now
            else:
                other.status, other.lift_decided_at = BlacklistStatus.LIFTED, now
                if other.decided_at is None:
                    other.decided_at = now
            other.save(update_fields=["status", "decided_at", "lift_decided_at", "note"])
    return BlacklistEntry.objects.filter(customer=loser).update(customer=survivor)
