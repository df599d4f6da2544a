"""Enrolment and membership status."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Customer, CustomerKind
from crm.services.blacklist import assert_not_blacklisted
from crm.services.customers import IdentityInput, record_event, resolve_customer
from members.errors import EnrolmentRefused, InvalidPointsRequest, NotAllowed
from members.models import (
    EarningRule,
    EnrolmentChannel,
    EntryKind,
    Level,
    LevelChange,
    LevelChangeReason,
    Member,
    MemberStatus,
)
from members.numbers import number_from_sequence
from members.services.ledger import add_lot, lock_member, move_balance, require_open, write_entry

EVENT_ENROLLED = "member.enrolled"
EVENT_FROZEN = "member.frozen"
EVENT_UNFROZEN = "member.unfrozen"
FREEZE_PERMISSION = "members.freeze_member"


@dataclass
class Enrolment:
    member: Member
    created: bool


def next_member_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('members_number_seq')")
        return number_from_sequence(cursor.fetchone()[0])


def _customer(
    customer: Customer | None,
    identities: Iterable[IdentityInput] | None,
    attributes: Mapping[str, Any] | None,
    unit: Any,
    actor: Any,
) -> Customer:
    if customer is None:
        if not identities:
            raise InvalidPointsRequest(
                _("Give the customer's phone or WeChat id to enrol them."), field="phone"
            )
        customer = resolve_customer(
            identities=identities,
            attributes={**(attributes or {}), "kind": CustomerKind.PERSON},
            source="members",
            actor=actor,
            business_unit=unit,
        ).customer
    while customer.merged_into_id is not None:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    if customer.kind != CustomerKind.PERSON:
        raise EnrolmentRefused(_("Only a person can be a member, not an organization."))
    return customer


def enrol_member(
    *,
    business_unit: Any,
    channel: str,
    customer: Customer | None = None,
    identities: Iterable[IdentityInput] | None = None,
    attributes: Mapping[str, Any] | None = None,
    actor: Any = None,
    now: datetime | None = None,
    enrolment_bonus: bool = True,
) -> Enrolment:
    """Enrol a person (found or created on the master by phone/WeChat through
    ``resolve_customer``). An enrolled customer gets its existing membership back
    (``created=False``); a blacklisted one is refused with the reason. A new member starts
    at the lowest level and gets the unit's enrolment bonus (not with
    ``enrolment_bonus=False``: an import carries the old programme's balance instead)."""
    if channel not in EnrolmentChannel.values:
        raise InvalidPointsRequest(_("Choose an enrolment channel from the list."), field="channel")
    now = now or timezone.now()
    with transaction.atomic():
        customer = _customer(customer, identities, attributes, business_unit, actor)
        existing = Member.objects.filter(customer=customer).first()
        if existing is not None:
            return Enrolment(existing, False)
        assert_not_blacklisted(customer)
        first_level = Level.objects.order_by("rank").first()
        try:
            with transaction.atomic():
                member = Member.objects.create(
                    customer=customer,
                    number=next_member_number(),
                    enrolled_business_unit=business_unit,
                    channel=channel,
                    enrolled_at=now,
                    enrolled_by=actor if getattr(actor, "pk", None) else None,
                    level=first_level,
                    level_since=now if first_level else None,
                )
        except IntegrityError:  # enrolled at the same moment by another desk
            return Enrolment(Member.objects.get(customer=customer), False)
        if first_level is not None:
            LevelChange.objects.create(
                member=member,
                to_level=first_level,
                reason=LevelChangeReason.ENROLMENT,
                changed_at=now,
                actor=member.enrolled_by,
            )
        record_event(
            customer=customer,
            type=EVENT_ENROLLED,
            summary=f"Member {member.number}",
            business_unit=business_unit,
            actor=actor,
            occurred_at=now,
            data={"number": member.number, "channel": channel},
        )
        rule = EarningRule.objects.filter(business_unit=business_unit, is_active=True).first()
        if enrolment_bonus and rule is not None and rule.enrolment_bonus:
            entry = write_entry(
                member,
                business_unit_id=member.enrolled_business_unit_id,
                kind=EntryKind.EARN,
                points=rule.enrolment_bonus,
                reason="enrolment",
                reference=f"enrol:{member.number}",
                created_at=now,
            )
            add_lot(member, entry, at=now, expires_at=None, months=rule.validity_months)
            move_balance(member, rule.enrolment_bonus)
    return Enrolment(member, True)


def _set_status(
    member: Member | int, user: Any, to: str, reason: str, event: str, summary: str
) -> Member:
    if not (getattr(user, "pk", None) and user.has_perm(FREEZE_PERMISSION)):
        raise NotAllowed(_("You may not freeze or unfreeze memberships."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidPointsRequest(_("Say why."), field="reason")
    with transaction.atomic():
        locked = lock_member(member)
        require_open(locked)
        if locked.status == to:
            return locked
        locked.status, locked.status_reason = to, reason[:300]
        locked.save(update_fields=["status", "status_reason"])
        record_event(
            customer=locked.customer_id,
            type=event,
            summary=summary,
            actor=user,
            data={"reason": reason[:300]},
        )
    return locked


def freeze_member(*, member: Member | int, user: Any, reason: str) -> Member:
    """A frozen member neither earns nor spends until unfrozen."""
    return _set_status(member, user, MemberStatus.FROZEN, reason, EVENT_FROZEN, "Member frozen")


def unfreeze_member(*, member: Member | int, user: Any, reason: str) -> Member:
    return _set_status(member, user, MemberStatus.ACTIVE, reason, EVENT_UNFROZEN, "Member unfrozen")
