"""Earning, redeeming and reversing points.

Replay semantics (the API documents them): a request carries its unit's ``reference`` (the
order id for an earn, the POS's redemption id for a redeem, the cancellation's id for a
reversal). The same (unit, kind, reference) applies once: sent again, nothing changes and
the entries the first request wrote are returned with ``replayed=True`` (HTTP 200 instead of
201), whatever happened to the member since. Sent again with different content (another
amount, other points, another member) it is refused as ``reference_reused``: a reference
names one request.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from crm.models import Customer
from crm.services.customers import record_event
from members.errors import (
    InsufficientPoints,
    InvalidPointsRequest,
    MemberFrozen,
    NoEarningRule,
    ReferenceReused,
)
from members.models import REFERENCE_MAX, EarningRule, EntryKind, Member, MemberStatus, PointsEntry
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
    settle_consumption,
    spendable_lots,
    usable_lots,
    write_entry,
)
from members.services.levels import levels, upgrade_if_qualified

EVENT_EARNED = "points.earned"
EVENT_REDEEMED = "points.redeemed"
EVENT_REVERSED = "points.reversed"

_ROUNDING = {"down": ROUND_DOWN, "half_up": ROUND_HALF_UP, "up": ROUND_UP}


def _reference(value: str, field: str = "reference", required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidPointsRequest(_("A reference is required (e.g. the order id)."), field=field)
    if len(value) > REFERENCE_MAX - 8:  # room for the suffix of a bonus entry
        raise InvalidPointsRequest(
            _("A reference holds at most %(max)d characters.") % {"max": REFERENCE_MAX - 8},
            field=field,
        )
    return value


def _unit_id(unit: Any) -> int:
    return unit if isinstance(unit, int) else unit.pk


def _require_active(member: Member) -> None:
    require_open(member)
    if member.status == MemberStatus.FROZEN:
        raise MemberFrozen(
            _("This membership is frozen (%(reason)s): it neither earns nor spends points.")
            % {"reason": member.status_reason or _("no reason given")}
        )


def base_points(rule: EarningRule, amount: Decimal, multiplier: Decimal, birthday: bool) -> int:
    """Points a purchase of ``amount`` earns before caps: rate × level multiplier (×
    birthday-month multiplier), rounded as the rule says."""
    raw = amount * rule.points_per_unit * multiplier
    if birthday:
        raw *= rule.birthday_multiplier
    points = int(raw.quantize(Decimal("1"), rounding=_ROUNDING[rule.rounding]))
    if rule.cap_per_transaction is not None:
        points = min(points, rule.cap_per_transaction)
    return max(points, 0)


def _earned_today(member: Member, unit_id: int, at: datetime) -> int:
    """Rule-based points (not bonuses) earned in this unit on ``at``'s local day."""
    day = localtime(at).replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        PointsEntry.objects.filter(
            member=member,
            business_unit_id=unit_id,
            kind=EntryKind.EARN,
            created_at__gte=day,
            reference=F("order_reference"),
        ).aggregate(total=Sum("points"))["total"]
        or 0
    )


def earn_points(
    *,
    member: Member | int,
    business_unit: Any,
    reference: str,
    amount: Decimal,
    occurred_at: datetime | None = None,
    actor: Any = None,
    now: datetime | None = None,
) -> PointsResult:
    """Points for an order of ``amount`` in ``business_unit`` (reference = the order id), by
    the unit's earning rule, plus the first-purchase-in-this-unit bonus. Each earn forms a
    lot that expires after the rule's validity. Crossing a level threshold upgrades now."""
    reference = _reference(reference)
    amount = Decimal(amount)
    if amount < 0:
        raise InvalidPointsRequest(_("The amount cannot be negative."), field="amount")
    unit_id = _unit_id(business_unit)
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_member(member)
        earlier = replayed(locked, unit_id, [EntryKind.EARN], reference, f"{reference}#first")
        if earlier is not None:
            if any(e.reference == reference and e.spend != amount for e in earlier):
                raise ReferenceReused(
                    _("Order “%(ref)s” already earned points for another amount.")
                    % {"ref": reference},
                    field="reference",
                )
            return PointsResult(locked, earlier, replayed=True)
        _require_active(locked)
        refuse_if_blacklisted(locked)
        rule = EarningRule.objects.filter(business_unit_id=unit_id, is_active=True).first()
        if rule is None:
            raise NoEarningRule(_("This business unit has no active earning rule."))
        ladder = levels()  # the member's level from it (and the upgrade's check below)
        locked.level = next((lv for lv in ladder if lv.pk == locked.level_id), None)
        multiplier = locked.level.multiplier if locked.level is not None else Decimal("1")
        birthday = (
            Customer.objects.filter(pk=locked.customer_id).values_list("birthday", flat=True)[0]
            if rule.birthday_multiplier != 1
            else None
        )
        occurred = localtime(occurred_at or now)
        points = base_points(
            rule, amount, multiplier, bool(birthday and birthday.month == occurred.month)
        )
        if rule.cap_per_day is not None and points:
            points = max(0, min(points, rule.cap_per_day - _earned_today(locked, unit_id, now)))
        first_in_unit = (
            rule.first_purchase_bonus
            and not PointsEntry.objects.filter(
                member=locked, business_unit_id=unit_id, kind=EntryKind.EARN
            )
            .exclude(order_reference="")
            .exists()
        )
        result = PointsResult(locked)
        for kind_points, ref, why in (
            (points, reference, "purchase"),
            (rule.first_purchase_bonus if first_in_unit else 0, f"{reference}#first", "first"),
        ):
            if kind_points <= 0:
                continue
            entry = write_entry(
                locked,
                business_unit_id=unit_id,
                kind=EntryKind.EARN,
                points=kind_points,
                spend=amount if ref == reference else Decimal("0"),
                reason=why,
                reference=ref,
                order_reference=reference,
                actor=actor,
                created_at=now,
            )
            add_lot(locked, entry, at=now, expires_at=None, months=rule.validity_months)
            result.entries.append(entry)
        if not result.entries:
            return result
        move_balance(locked, result.points)
        record_event(
            customer=locked.customer_id,
            type=EVENT_EARNED,
            summary=f"+{result.points} points",
            business_unit=unit_id,
            actor=actor,
            occurred_at=now,
            data={"points": result.points, "reference": reference, "amount": str(amount)},
        )
        upgrade_if_qualified(locked, at=now, actor=actor, ladder=ladder)
    return result


def redeem_points(
    *,
    member: Member | int,
    business_unit: Any,
    points: int,
    reference: str,
    reason: str = "",
    actor: Any = None,
    now: datetime | None = None,
) -> PointsResult:
    """Spend ``points`` in ``business_unit``: lots are consumed oldest first (never an
    expired one); lots funded by another unit write settlement lines."""
    reference = _reference(reference)
    if not isinstance(points, int) or points <= 0:
        raise InvalidPointsRequest(_("Redeem a positive whole number of points."), field="points")
    unit_id = _unit_id(business_unit)
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_member(member)
        earlier = replayed(locked, unit_id, [EntryKind.REDEEM], reference)
        if earlier is not None:
            if -earlier[0].points != points:
                raise ReferenceReused(
                    _("Redemption “%(ref)s” was already made for another number of points.")
                    % {"ref": reference},
                    field="reference",
                )
            return PointsResult(locked, earlier, replayed=True)
        _require_active(locked)
        refuse_if_blacklisted(locked)
        lots = spendable_lots(locked, now)  # the due ones expired first
        if locked.points_balance < points:
            raise InsufficientPoints(
                _("Only %(balance)d points are available; %(points)d were asked for.")
                % {"balance": locked.points_balance, "points": points},
                field="points",
            )
        entry = write_entry(
            locked,
            business_unit_id=unit_id,
            kind=EntryKind.REDEEM,
            points=-points,
            reason=(reason or "")[:300],
            reference=reference,
            actor=actor,
            created_at=now,
        )
        taken = consume(entry, lots, points)
        settle_consumption(entry, taken)
        move_balance(locked, -points)
        record_event(
            customer=locked.customer_id,
            type=EVENT_REDEEMED,
            summary=f"-{points} points",
            business_unit=unit_id,
            actor=actor,
            occurred_at=now,
            data={"points": points, "reference": reference},
        )
    return PointsResult(locked, [entry])


def order_outstanding(member: Member, unit_id: int, order_reference: str) -> tuple[int, Decimal]:
    """Points (and spend) an order earned that no reversal has taken back yet."""
    totals = PointsEntry.objects.filter(
        member=member, business_unit_id=unit_id, order_reference=order_reference
    ).aggregate(
        earned=Sum("points", filter=Q(kind=EntryKind.EARN)),
        reversed=Sum("points", filter=Q(kind=EntryKind.REVERSE)),
        unrecovered=Sum("unrecovered"),
        spend=Sum("spend"),
    )
    outstanding = (totals["earned"] or 0) + (totals["reversed"] or 0) - (totals["unrecovered"] or 0)
    return max(outstanding, 0), totals["spend"] or Decimal("0")


def reverse_order(
    *,
    member: Member | int,
    business_unit: Any,
    order_reference: str,
    reference: str = "",
    points: int | None = None,
    reason: str = "",
    actor: Any = None,
    now: datetime | None = None,
) -> PointsResult:
    """Take back what a cancelled order earned (all of it, or ``points`` of it for a partial
    refund): first from what is left of that order's own lots; what the member already spent
    is recorded as an ``uncollectable`` entry (shown to staff) and the balance never goes
    below zero. ``reference`` is the cancellation's own id (default: the order's)."""
    order_reference = _reference(order_reference, "order_reference")
    reference = _reference(reference or order_reference)
    if points is not None and (not isinstance(points, int) or points <= 0):
        raise InvalidPointsRequest(_("Reverse a positive whole number of points."), field="points")
    unit_id = _unit_id(business_unit)
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_member(member)
        earlier = replayed(locked, unit_id, [EntryKind.REVERSE, EntryKind.UNCOLLECTABLE], reference)
        if earlier is not None:
            return PointsResult(locked, earlier, replayed=True)
        require_open(locked)
        outstanding, spend = order_outstanding(locked, unit_id, order_reference)
        wanted = outstanding if points is None else min(points, outstanding)
        result = PointsResult(locked)
        if wanted <= 0:
            return result
        expire_member_lots(locked, now)
        own = usable_lots(
            locked, now, entry__order_reference=order_reference, funding_business_unit_id=unit_id
        )
        recoverable = min(wanted, sum(lot.remaining for lot in own))
        spend_back = -(spend * wanted / outstanding).quantize(Decimal("0.01")) if outstanding else 0
        common = {
            "business_unit_id": unit_id,
            "reason": (reason or "order cancelled")[:300],
            "reference": reference,
            "order_reference": order_reference,
            "actor": actor,
            "created_at": now,
        }
        if recoverable:
            entry = write_entry(
                locked, kind=EntryKind.REVERSE, points=-recoverable, spend=spend_back, **common
            )
            consume(entry, own, recoverable)
            move_balance(locked, -recoverable)
            result.entries.append(entry)
        if wanted > recoverable:
            result.entries.append(
                write_entry(
                    locked,
                    kind=EntryKind.UNCOLLECTABLE,
                    points=0,
                    unrecovered=wanted - recoverable,
                    spend=0 if recoverable else spend_back,
                    **common,
                )
            )
        record_event(
            customer=locked.customer_id,
            type=EVENT_REVERSED,
            summary=f"-{recoverable} points (order cancelled)",
            business_unit=unit_id,
            actor=actor,
            occurred_at=now,
            data={
                "points": recoverable,
                "uncollectable": wanted - recoverable,
                "order": order_reference,
            },
        )
    return result
