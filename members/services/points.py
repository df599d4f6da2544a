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

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from crm.services.customers import record_event
from crm.services.settlement import record_settlement_lines
from members.errors import (
    InsufficientPoints,
    InvalidPointsRequest,
    NoEarningRule,
    NotAMember,
    ReferenceReused,
)
from members.models import (
    REFERENCE_MAX,
    EarningRule,
    EntryKind,
    LevelChangeReason,
    Member,
    MemberStatus,
    PointsEntry,
    PointValue,
    QualificationBasis,
)
from members.services import hotpath
from members.services.ledger import (
    PointsResult,
    consume,
    expire_member_lots,
    lock_member,
    move_balance,
    refuse_if_blacklisted,
    refusing,
    replayed,
    require_active,
    require_open,
    usable_lots,
    write_entry,
)
from members.services.levels import change_level

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


def _lock(member: Member | int, unit_id: int, *, with_rule: bool) -> hotpath.Locked:
    """The member's row locked (following a merge to the survivor), with the reads that do
    not depend on the lock (``hotpath.lock_for_points``); ``NotAMember`` if gone."""
    pk = member if isinstance(member, int) else member.pk
    for _hop in range(3):
        head = hotpath.lock_for_points(pk, unit_id=unit_id, with_rule=with_rule)
        if head is None:
            raise NotAMember(_("No such member."))
        if head.member.merged_into_id is None:
            head.member.blacklisted = head.blacklisted  # type: ignore[attr-defined]
            return head
        pk = head.member.merged_into_id
    raise NotAMember(_("No such member."))  # pragma: no cover


def _earn_replayed(locked: Member, unit_id: int, reference: str, amount: Decimal) -> Any:
    """The result of an earlier earn with this reference, or ``None``; a different amount is
    refused."""
    earlier = replayed(locked, unit_id, [EntryKind.EARN], reference, f"{reference}#first")
    if earlier is None:
        return None
    # The order's spend is on its purchase entry, or on its bonus entry when the purchase
    # earned nothing; none recorded (a bonus-only order written before that) proves nothing.
    spent = sum((e.spend for e in earlier), Decimal("0"))
    if spent and spent != amount:
        raise ReferenceReused(
            _("Order “%(ref)s” already earned points for another amount.") % {"ref": reference},
            field="reference",
        )
    return PointsResult(locked, earlier, replayed=True)


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
    lot that expires after the rule's validity. Crossing a level threshold upgrades now.

    Two statements in the transaction (``hotpath``): the member's lock with the rule and the
    ladder, then one statement that writes everything. A replay, a refusal or an upgrade
    costs more statements, on those paths only."""
    reference = _reference(reference)
    amount = Decimal(amount)
    if amount < 0:
        raise InvalidPointsRequest(_("The amount cannot be negative."), field="amount")
    unit_id = _unit_id(business_unit)
    now = now or timezone.now()
    actor_id = getattr(actor, "pk", None)
    # what does not need the lock is computed before taking it
    occurred_month = localtime(occurred_at or now).month
    day = localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)

    def work() -> PointsResult:
        head = _lock(member, unit_id, with_rule=True)
        locked, rule = head.member, head.rule
        if locked.status != MemberStatus.ACTIVE or head.blacklisted or rule is None:
            earlier = _earn_replayed(locked, unit_id, reference, amount)
            if earlier is not None:
                return earlier
            require_active(locked)
            refuse_if_blacklisted(locked)
            raise NoEarningRule(_("This business unit has no active earning rule."))
        multiplier = locked.level.multiplier if locked.level is not None else Decimal("1")
        birthday = head.birthday if rule.birthday_multiplier != 1 else None
        base = base_points(
            rule, amount, multiplier, bool(birthday and birthday.month == occurred_month)
        )
        current_rank = locked.level.rank if locked.level is not None else -1
        higher = [data for data in head.ladder if data["rank"] > current_rank]
        windows = sorted({data["window_months"] for data in higher})
        earned = hotpath.write_earn(
            locked,
            unit_id=unit_id,
            reference=reference,
            bonus_reference=f"{reference}#first",
            base=base,
            cap_per_day=rule.cap_per_day,
            day=day,
            bonus=rule.first_purchase_bonus,
            amount=amount,
            now=now,
            expires_at=now + relativedelta(months=rule.validity_months),
            actor_id=actor_id,
            event=EVENT_EARNED,
            window_starts=[now - relativedelta(months=months) for months in windows],
        )
        if not earned.entries:
            earlier = _earn_replayed(locked, unit_id, reference, amount)
            return earlier if earlier is not None else PointsResult(locked)
        # crossing a threshold upgrades now (the highest level reached; ``levels`` has the rule)
        measured = dict(zip(windows, earned.measures, strict=True))
        target: dict[str, Any] | None = None
        for data in higher:
            points, spend = measured[data["window_months"]]
            value = spend if data["basis"] == QualificationBasis.SPEND else points
            if value >= Decimal(data["threshold"]):
                target, measure = data, value
        if target is not None:
            change_level(
                locked,
                hotpath.level(target),
                reason=LevelChangeReason.UPGRADE,
                at=now,
                measure=measure,
                actor=actor,
            )
        return PointsResult(locked, earned.entries)

    return refusing(work)


def _redeem_replayed(locked: Member, unit_id: int, reference: str, points: int) -> Any:
    earlier = replayed(locked, unit_id, [EntryKind.REDEEM], reference)
    if earlier is None:
        return None
    if -earlier[0].points != points:
        raise ReferenceReused(
            _("Redemption “%(ref)s” was already made for another number of points.")
            % {"ref": reference},
            field="reference",
        )
    return PointsResult(locked, earlier, replayed=True)


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
    expired one: the due ones are expired first); lots funded by another unit write
    settlement lines.

    Two statements in the transaction (``hotpath``): the member's lock, then one statement
    that expires, consumes (set-based FIFO), records and settles. A replay or a refusal
    costs more statements, on those paths only."""
    reference = _reference(reference)
    if not isinstance(points, int) or points <= 0:
        raise InvalidPointsRequest(_("Redeem a positive whole number of points."), field="points")
    unit_id = _unit_id(business_unit)
    now = now or timezone.now()
    day = localtime(now).date()
    reason = (reason or "")[:300]
    actor_id = getattr(actor, "pk", None)

    def work() -> PointsResult:
        head = _lock(member, unit_id, with_rule=False)
        locked = head.member
        if locked.status != MemberStatus.ACTIVE or head.blacklisted:
            earlier = _redeem_replayed(locked, unit_id, reference, points)
            if earlier is not None:
                return earlier
            require_active(locked)
            refuse_if_blacklisted(locked)
        done = hotpath.write_redeem(
            locked,
            unit_id=unit_id,
            points=points,
            reference=reference,
            reason=reason,
            now=now,
            day=day,
            month=day.replace(day=1),
            actor_id=actor_id,
            event=EVENT_REDEEMED,
        )
        if done.entry is None:
            earlier = _redeem_replayed(locked, unit_id, reference, points)
            if earlier is not None:
                return earlier
            raise InsufficientPoints(
                _("Only %(balance)d points are available; %(points)d were asked for.")
                % {"balance": done.available, "points": points},
                field="points",
            )
        if done.unsettled:  # the first line of the month between these units
            value = PointValue.on(day)
            record_settlement_lines(
                [
                    (
                        u["unit"],
                        unit_id,
                        (value * u["points"]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
                        u["points"],
                        f"entry:{done.entry.pk}:lot:{u['lot']}",
                    )
                    for u in done.unsettled
                ],
                at=now,
            )
        return PointsResult(locked, [done.entry])

    return refusing(work)


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
