"""Validating and redeeming coupons, and the settlement they owe.

- ``validate_coupon`` answers the discount, or the one precise reason it cannot be used;
  a malformed code or a wrong check character is refused before any lookup.
- ``redeem_coupon`` applies exactly once under concurrency. Its usual path is two statements
  (``redemption_sql``): one read of everything it decides on, then one conditional
  ``UPDATE … WHERE status = 'issued'`` that writes the settlement lines and the timeline event
  in the same statement only if it changed the row. PostgreSQL runs that statement
  atomically: a concurrent redemption of the same code waits for the row, finds it redeemed
  and writes nothing. A unit's ``reference`` names one redemption: sent again (a POS retry),
  the first redemption is answered with ``replayed=True``; with another code or amount it is
  ``reference_reused`` — those cases, an unknown code and a lost race that still looks
  redeemable take the locked path (one transaction: lock the coupon, re-check, update).
- A redemption at a unit other than a funding unit owes that unit its share of the discount:
  one settlement line per funding unit, in the group's ledger (the same as points).
- Reversal on refund: ``reversal.reverse_redemption``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.errors import (
    CouponAlreadyRedeemed,
    CouponUnknown,
    InvalidCouponRequest,
    ReferenceReused,
)
from campaigns.models import REFERENCE_MAX, Coupon, CouponReversal, CouponStatus, TemplateFunding
from campaigns.services import redemption_sql
from campaigns.services.rollup import is_before_this_month, note_change
from campaigns.services.validation import (
    CENT,
    Validation,
    _amount,
    _redeemable,
    _unit_id,
    check_coupon,
    parse_code,
    validate_coupon,
)
from crm.models import BusinessUnit, TimelineEvent
from crm.models.settlement import SettlementSource
from crm.registry import notify_event_recorded
from crm.services import record_event
from crm.services.settlement import month_of, record_settlement_lines, statement_id

__all__ = [  # validation's names stay importable from here
    "Redemption",
    "Validation",
    "check_coupon",
    "parse_code",
    "redeem_coupon",
    "validate_coupon",
]

EVENT_REDEEMED = "coupon.redeemed"
EVENT_REVERSED = "coupon.reversed"


@dataclass
class Redemption:
    coupon: Coupon
    discount: Decimal
    replayed: bool = False


def _owed(
    shares: list[tuple[int, Decimal]], unit_id: int, discount: Decimal
) -> list[tuple[int, Decimal]]:
    """``(funding unit, amount)`` each funding unit other than ``unit_id`` owes for
    ``discount``, by its share (``shares`` largest first; the last share takes the rounding
    remainder)."""
    owed = []
    left = discount
    for index, (funder, share) in enumerate(shares):
        amount = (
            left
            if index == len(shares) - 1
            else (discount * share / 100).quantize(CENT, rounding=ROUND_DOWN)
        )
        left -= amount
        if funder != unit_id and amount > 0:
            owed.append((funder, amount))
    return owed


LINE_REFERENCE_MAX = 120  # crm SettlementLine.source_reference


def _line_reference(coupon_id: int, reference: str | None, funder: int, suffix: str = "") -> str:
    """The settlement line's unique source reference. An order reference too long to fit
    (up to ``REFERENCE_MAX`` characters) is replaced by its digest rather than cut: cut, two
    funders' lines (or a reversal and its redemption) of one long reference collided."""
    line = f"coupon:{coupon_id}:{reference or ''}:{funder}{suffix}"
    if len(line) <= LINE_REFERENCE_MAX:
        return line
    digest = hashlib.sha256((reference or "").encode()).hexdigest()[:40]
    return f"coupon:{coupon_id}:#{digest}:{funder}{suffix}"


def _settle(
    coupon: Coupon, unit_id: int, discount: Decimal, at: datetime, suffix: str = ""
) -> None:
    """One line per funding unit other than the redeeming one, by its share of ``discount``.
    ``suffix`` marks a reversal: the lines then run the other way round."""
    shares = list(
        TemplateFunding.objects.filter(template_id=coupon.template_id)
        .order_by("-share", "business_unit_id")
        .values_list("business_unit_id", "share")
    )
    lines = []
    for funder, amount in _owed(shares, unit_id, discount):
        reference = _line_reference(coupon.pk, coupon.redemption_reference, funder, suffix)
        debtor, creditor = (unit_id, funder) if suffix else (funder, unit_id)
        lines.append((debtor, creditor, amount, 0, reference))
    if lines:
        record_settlement_lines(
            lines, source_kind=SettlementSource.COUPON, currency=coupon.template.currency, at=at
        )


def _replay(unit_id: int, reference: str, code: str, amount: Decimal) -> Redemption | None:
    earlier = (
        Coupon.objects.select_related("template", "redeemed_business_unit")
        .filter(redeemed_business_unit_id=unit_id, redemption_reference=reference)
        .first()
    )
    if earlier is not None:
        if earlier.code != code or earlier.order_amount != amount:
            raise ReferenceReused(
                _("Reference “%(ref)s” already redeemed another coupon or amount here.")
                % {"ref": reference},
                field="reference",
            )
        return Redemption(earlier, earlier.discount or Decimal("0"), replayed=True)
    if CouponReversal.objects.filter(
        business_unit_id=unit_id, redemption_reference=reference
    ).exists():
        raise ReferenceReused(
            _("Redemption “%(ref)s” was reversed; use a new reference to redeem again.")
            % {"ref": reference},
            field="reference",
        )
    return None


def redeem_coupon(
    *,
    code: str,
    business_unit: BusinessUnit | int,
    reference: str,
    order_amount: Any,
    actor: Any = None,
    now: datetime | None = None,
) -> Redemption:
    """Redeem ``code`` at ``business_unit`` for the order ``reference`` of ``order_amount``,
    exactly once."""
    normalized = parse_code(code)
    amount = _amount(order_amount)
    reference = (reference or "").strip()
    if not reference or len(reference) > REFERENCE_MAX:
        raise InvalidCouponRequest(
            _("Give the order's reference (at most %(max)d characters).") % {"max": REFERENCE_MAX},
            field="reference",
        )
    unit_id = _unit_id(business_unit)
    now = now or timezone.now()
    for _attempt in range(2):  # a lost race is read again, to say when and where
        found = redemption_sql.read(normalized, unit_id, reference, month_of(now))
        if found is None or found.reference_used:
            break  # an unknown code, a replay, a reused reference: the locked path says which
        coupon = found.coupon
        discount = check_coupon(
            coupon,
            unit_id,
            amount,
            now,
            {unit_id} if found.redeemable_here else set(),
            blacklisted=found.blacklisted,
        )
        done = _redeem_found(found, business_unit, reference, amount, discount, actor, now)
        if done is not None:
            return done
    return _redeem_locked(normalized, unit_id, reference, amount, actor, now)


def _redeem_found(
    found: redemption_sql.Found,
    business_unit: BusinessUnit | int,
    reference: str,
    amount: Decimal,
    discount: Decimal,
    actor: Any,
    now: datetime,
) -> Redemption | None:
    """Redeem the coupon ``found`` read as redeemable, in one statement with its settlement
    lines and timeline event; ``None`` if it was no longer issued by then."""
    coupon, unit_id = found.coupon, _unit_id(business_unit)
    template = coupon.template
    statements = {funder: statement for funder, _share, statement in found.funding}
    owed_by = _owed([(f, share) for f, share, _s in found.funding], unit_id, discount)
    # The first redemption of a (funder, unit) pair in a month creates the month's statement:
    # in the transaction of the write, undone if the write loses a race (no empty statement).
    first_of_month = any(statements.get(funder) is None for funder, _owed in owed_by)

    def lines() -> list[tuple[int, int, Decimal, str]]:
        return [
            (
                statements.get(funder) or statement_id(now, funder, unit_id),
                funder,
                owed,
                _line_reference(coupon.pk, reference, funder),
            )
            for funder, owed in owed_by
        ]

    actor_id = actor.pk if getattr(actor, "pk", None) else None
    summary = f"Coupon “{template.name}” redeemed"
    data = {
        "coupon": coupon.pk,
        "name": template.name,
        "discount": str(discount),
        "currency": template.currency,
        "reference": reference,
    }

    def write() -> int | None:
        return redemption_sql.write(
            coupon=coupon,
            unit_id=unit_id,
            reference=reference,
            amount=amount,
            discount=discount,
            now=now,
            actor_id=actor_id,
            lines=lines(),
            event_type=EVENT_REDEEMED,
            summary=summary,
            data=data,
            source_kind=SettlementSource.COUPON,
        )

    # A redemption dated in an earlier month (never on the clock: imports, demos) leaves the
    # rollup's mark in its transaction (campaigns/ROLLUP.md).
    earlier = is_before_this_month(now)
    try:
        if connection.in_atomic_block or earlier or first_of_month:  # a savepoint, or its own
            with transaction.atomic():
                event_id = write()
                if event_id is None:  # lost a race: nothing written, the statement undone
                    transaction.set_rollback(True)
                elif earlier:
                    note_change(redeemed_at=now)
        else:  # one statement: atomic on its own
            event_id = write()
    except IntegrityError as exc:  # the same reference, at the same instant, for another code
        raise ReferenceReused(
            _("Reference “%(ref)s” already redeemed another coupon here.") % {"ref": reference},
            field="reference",
        ) from exc
    if event_id is None:
        return None
    coupon.status, coupon.redeemed_business_unit_id = CouponStatus.REDEEMED, unit_id
    if isinstance(business_unit, BusinessUnit):
        coupon.redeemed_business_unit = business_unit
    coupon.redeemed_at, coupon.redemption_reference = now, reference
    coupon.order_amount, coupon.discount, coupon.redeemed_by_id = amount, discount, actor_id
    event = TimelineEvent(
        pk=event_id,
        customer_id=coupon.customer_id,
        business_unit_id=unit_id,
        type=EVENT_REDEEMED,
        actor_id=actor_id,
        occurred_at=now,
        summary=summary[:300],
        data=data,
    )
    event._state.adding, event._state.db = False, connection.alias
    notify_event_recorded(event)  # what record_event does after its INSERT
    return Redemption(coupon, discount)


def _redeem_locked(
    normalized: str, unit_id: int, reference: str, amount: Decimal, actor: Any, now: datetime
) -> Redemption:
    """The locked path: one transaction, the coupon's row locked, every rule re-checked."""
    try:
        with transaction.atomic():
            earlier = _replay(unit_id, reference, normalized, amount)
            if earlier is not None:
                return earlier
            # Lock the coupon's row alone, read with its template (which a redemption never
            # changes); the redeeming unit is not joined: after waiting for a concurrent
            # redemption the re-read coupon would meet the unit as it was (none). The refusal
            # that names it reads it then.
            coupon = (
                Coupon.objects.select_for_update(of=("self",))
                .select_related("template")
                .filter(code=normalized)
                .first()
            )
            if coupon is None:
                raise CouponUnknown(_("No coupon has this code."), field="code")
            if (
                coupon.status == CouponStatus.REDEEMED
                and coupon.redeemed_business_unit_id == unit_id
                and coupon.redemption_reference == reference
                and coupon.order_amount == amount
            ):  # the same request, sent twice at once: the second waited for the first
                return Redemption(coupon, coupon.discount or Decimal("0"), replayed=True)
            discount = check_coupon(coupon, unit_id, amount, now, _redeemable(coupon))
            changed = Coupon.objects.filter(pk=coupon.pk, status=CouponStatus.ISSUED).update(
                status=CouponStatus.REDEEMED,
                redeemed_business_unit_id=unit_id,
                redeemed_at=now,
                redemption_reference=reference,
                order_amount=amount,
                discount=discount,
                redeemed_by=actor if getattr(actor, "pk", None) else None,
            )
            if changed != 1:  # cannot happen under the lock; never redeem twice regardless
                raise CouponAlreadyRedeemed(_("This coupon was already redeemed."))
            coupon.status, coupon.redeemed_business_unit_id = CouponStatus.REDEEMED, unit_id
            coupon.redeemed_at, coupon.redemption_reference = now, reference
            coupon.order_amount, coupon.discount = amount, discount
            coupon.redeemed_by = actor if getattr(actor, "pk", None) else None
            _settle(coupon, unit_id, discount, now)
            note_change(redeemed_at=now)
            record_event(
                customer=coupon.customer_id,
                type=EVENT_REDEEMED,
                summary=f"Coupon “{coupon.template.name}” redeemed",
                business_unit=unit_id,
                actor=actor,
                occurred_at=now,
                data={
                    "coupon": coupon.pk,
                    "name": coupon.template.name,
                    "discount": str(discount),
                    "currency": coupon.template.currency,
                    "reference": reference,
                },
            )
    except IntegrityError as exc:  # the same reference, at the same instant, for another code
        raise ReferenceReused(
            _("Reference “%(ref)s” already redeemed another coupon here.") % {"ref": reference},
            field="reference",
        ) from exc
    return Redemption(coupon, discount)
