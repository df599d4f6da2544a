"""Validating, redeeming and reversing coupons, and the settlement they owe.

- ``validate_coupon`` answers the discount, or the one precise reason it cannot be used;
  a malformed code or a wrong check character is refused before any lookup.
- ``redeem_coupon`` applies exactly once under concurrency: the coupon's row is locked, every
  rule re-checked, then a conditional ``UPDATE … WHERE status = 'issued'``. A unit's
  ``reference`` names one redemption: sent again (a POS retry), the first redemption is
  answered with ``replayed=True``; with another code or amount it is ``reference_reused``.
- A redemption at a unit other than a funding unit owes that unit its share of the discount:
  one settlement line per funding unit, in the group's ledger (the same as points).
- ``reverse_redemption`` on a refund: within the template's window, a template marked
  "restored on refund" gives the coupon back (and the settlement is reversed by lines the
  other way round); otherwise the refund is recorded and the coupon stays used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from campaigns import codes
from campaigns.errors import (
    BelowMinimumSpend,
    CouponAlreadyRedeemed,
    CouponCheckFailed,
    CouponCodeMalformed,
    CouponExpired,
    CouponNotYetValid,
    CouponUnknown,
    CouponVoided,
    InvalidCouponRequest,
    NotRedeemableHere,
    ReferenceReused,
    ReversalRefused,
)
from campaigns.models import (
    REFERENCE_MAX,
    Coupon,
    CouponReversal,
    CouponStatus,
    CouponTemplate,
    TemplateFunding,
)
from crm.models import BusinessUnit
from crm.models.settlement import SettlementSource
from crm.services import record_event
from crm.services.blacklist import assert_not_blacklisted
from crm.services.settlement import record_settlement_lines

EVENT_REDEEMED = "coupon.redeemed"
EVENT_REVERSED = "coupon.reversed"
CENT = Decimal("0.01")


@dataclass
class Validation:
    coupon: Coupon
    discount: Decimal
    order_amount: Decimal


@dataclass
class Redemption:
    coupon: Coupon
    discount: Decimal
    replayed: bool = False


def _unit_id(unit: BusinessUnit | int) -> int:
    return unit if isinstance(unit, int) else unit.pk


def parse_code(raw: str) -> str:
    """The normalized code, or the refusal of a malformed one or a typo (no lookup)."""
    code = codes.normalize(raw)
    if not codes.is_well_formed(code):
        raise CouponCodeMalformed(
            _(
                "A coupon code has %(n)d characters (letters and digits, without 0, O, 1, I "
                "or L). Check what was typed."
            )
            % {"n": codes.CODE_LENGTH},
            field="code",
        )
    if not codes.has_valid_check(code):
        raise CouponCheckFailed(
            _("This code contains a typo (its check character does not match): type it again."),
            field="code",
        )
    return code


def _amount(value: Any, field: str = "order_amount") -> Decimal:
    try:
        amount = Decimal(value)
    except Exception as exc:
        raise InvalidCouponRequest(_("Give the order amount."), field=field) from exc
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise InvalidCouponRequest(_("The order amount must be zero or more."), field=field)
    return amount.quantize(CENT)


def _when(moment: datetime) -> str:
    return date_format(localtime(moment), "DATETIME_FORMAT")


def check_coupon(
    coupon: Coupon, unit_id: int, order_amount: Decimal, now: datetime, redeemable: set[int]
) -> Decimal:
    """The discount ``coupon`` gives on an order at ``unit_id``, or the precise refusal."""
    template = coupon.template
    if coupon.status == CouponStatus.VOIDED:
        raise CouponVoided(
            _("This coupon was voided on %(when)s%(why)s.")
            % {
                "when": _when(coupon.voided_at or now),
                "why": f" ({coupon.void_reason})" if coupon.void_reason else "",
            }
        )
    if coupon.status == CouponStatus.REDEEMED:
        unit = coupon.redeemed_business_unit
        raise CouponAlreadyRedeemed(
            _("This coupon was already redeemed on %(when)s at %(unit)s (reference %(ref)s).")
            % {
                "when": _when(coupon.redeemed_at or now),
                "unit": unit.name if unit else "?",
                "ref": coupon.redemption_reference,
            }
        )
    if coupon.status == CouponStatus.EXPIRED or coupon.valid_until <= now:
        raise CouponExpired(
            _("This coupon expired on %(when)s.") % {"when": _when(coupon.valid_until)}
        )
    if now < coupon.valid_from:
        raise CouponNotYetValid(
            _("This coupon is valid from %(when)s.") % {"when": _when(coupon.valid_from)}
        )
    if unit_id not in redeemable:
        raise NotRedeemableHere(
            _("This coupon (“%(name)s”) cannot be redeemed in this business unit.")
            % {"name": template.name}
        )
    if order_amount < template.minimum_spend:
        raise BelowMinimumSpend(
            _("This coupon needs a minimum spend of %(min)s; the order is %(amount)s.")
            % {"min": template.minimum_spend, "amount": order_amount},
            field="order_amount",
        )
    assert_not_blacklisted(coupon.customer_id)
    return template.discount_for(order_amount)


def _redeemable(coupon: Coupon) -> set[int]:
    return set(coupon.template.redeemable_units.values_list("pk", flat=True))


def validate_coupon(
    *, code: str, business_unit: BusinessUnit | int, order_amount: Any, now: datetime | None = None
) -> Validation:
    """The discount the coupon ``code`` gives on an order of ``order_amount`` at
    ``business_unit``, or a ``CouponError`` naming the reason."""
    normalized = parse_code(code)
    amount = _amount(order_amount)
    now = now or timezone.now()
    unit_id = _unit_id(business_unit)
    coupon = (
        Coupon.objects.select_related("template", "redeemed_business_unit")
        .annotate(  # where it may be redeemed, asked in the same query
            redeemable_here=Exists(
                CouponTemplate.redeemable_units.through.objects.filter(
                    coupontemplate_id=OuterRef("template_id"), businessunit_id=unit_id
                )
            )
        )
        .filter(code=normalized)
        .first()
    )
    if coupon is None:
        raise CouponUnknown(_("No coupon has this code."), field="code")
    redeemable = {unit_id} if coupon.redeemable_here else set()  # type: ignore[attr-defined]
    discount = check_coupon(coupon, unit_id, amount, now, redeemable)
    return Validation(coupon, discount, amount)


def _settle(
    coupon: Coupon, unit_id: int, discount: Decimal, at: datetime, suffix: str = ""
) -> None:
    """One line per funding unit other than the redeeming one, by its share of ``discount``
    (the last share takes the rounding remainder). ``suffix`` marks a reversal: the lines
    then run the other way round."""
    shares = list(
        TemplateFunding.objects.filter(template_id=coupon.template_id)
        .order_by("-share", "business_unit_id")
        .values_list("business_unit_id", "share")
    )
    lines = []
    left = discount
    for index, (funder, share) in enumerate(shares):
        amount = (
            left
            if index == len(shares) - 1
            else (discount * share / 100).quantize(CENT, rounding=ROUND_DOWN)
        )
        left -= amount
        if funder == unit_id or amount <= 0:
            continue
        reference = f"coupon:{coupon.pk}:{coupon.redemption_reference or ''}:{funder}{suffix}"
        debtor, creditor = (unit_id, funder) if suffix else (funder, unit_id)
        lines.append((debtor, creditor, amount, 0, reference[:120]))
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


@dataclass
class Reversal:
    record: CouponReversal
    replayed: bool = False


def reverse_redemption(
    *,
    code: str,
    business_unit: BusinessUnit | int,
    reference: str,
    reason: str = "",
    actor: Any = None,
    now: datetime | None = None,
) -> Reversal:
    """The order that redeemed ``code`` at ``business_unit`` was refunded (``reference`` is
    the refund's id): record it, and give the coupon back if its template says so and the
    refund comes within the template's window."""
    normalized = parse_code(code)
    reference = (reference or "").strip()
    if not reference or len(reference) > REFERENCE_MAX:
        raise InvalidCouponRequest(_("Give the refund's reference."), field="reference")
    unit_id = _unit_id(business_unit)
    now = now or timezone.now()
    with transaction.atomic():
        done = CouponReversal.objects.filter(business_unit_id=unit_id, reference=reference).first()
        if done is not None:
            if done.coupon.code != normalized:
                raise ReferenceReused(
                    _("Refund “%(ref)s” already reversed another coupon.") % {"ref": reference},
                    field="reference",
                )
            return Reversal(done, replayed=True)
        locked = Coupon.objects.select_for_update().filter(code=normalized).first()
        if locked is None:
            raise CouponUnknown(_("No coupon has this code."), field="code")
        coupon = Coupon.objects.select_related("template").get(pk=locked.pk)
        if coupon.status != CouponStatus.REDEEMED or coupon.redeemed_business_unit_id != unit_id:
            raise ReversalRefused(
                _("This coupon was not redeemed in this business unit: nothing to reverse.")
            )
        template = coupon.template
        assert coupon.redeemed_at is not None and coupon.discount is not None
        within = now <= coupon.redeemed_at + timedelta(days=template.reversal_window_days)
        restore = template.reversible_on_refund and within
        why = (reason or "").strip()[:300]
        if not restore:
            why = (
                why
                or (
                    _("Refund after the %(days)d-day window: the coupon stays used.")
                    % {"days": template.reversal_window_days}
                    if template.reversible_on_refund
                    else _("This template's coupons are not restored on refund.")
                )
            )[:300]
        record = CouponReversal.objects.create(
            coupon=coupon,
            business_unit_id=unit_id,
            reference=reference,
            redemption_reference=coupon.redemption_reference or "",
            redeemed_at=coupon.redeemed_at,
            order_amount=coupon.order_amount,
            discount=coupon.discount,
            restored=restore,
            reason=why,
            actor=actor if getattr(actor, "pk", None) else None,
            created_at=now,
        )
        if restore:
            _settle(coupon, unit_id, coupon.discount, now, suffix=f":rev:{record.pk}")
            Coupon.objects.filter(pk=coupon.pk, status=CouponStatus.REDEEMED).update(
                status=CouponStatus.ISSUED,
                redeemed_business_unit=None,
                redeemed_at=None,
                redemption_reference=None,
                order_amount=None,
                discount=None,
                redeemed_by=None,
            )
        record_event(
            customer=coupon.customer_id,
            type=EVENT_REVERSED,
            summary=f"Coupon “{template.name}” redemption reversed",
            business_unit=unit_id,
            actor=actor,
            occurred_at=now,
            data={
                "coupon": coupon.pk,
                "name": template.name,
                "restored": restore,
                "reference": reference,
            },
        )
    return Reversal(record)
