"""Validating a coupon: the discount it gives on an order at a unit, or the one precise reason
it cannot be used (a malformed code or a wrong check character is refused before any
lookup). ``check_coupon`` is the rule set ``redeem_coupon`` re-applies before it writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

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
)
from campaigns.models import Coupon, CouponStatus
from campaigns.services import redemption_sql
from crm.models import BusinessUnit
from crm.services.blacklist import assert_not_blacklisted
from crm.services.settlement import month_of

CENT = Decimal("0.01")


@dataclass
class Validation:
    coupon: Coupon
    discount: Decimal
    order_amount: Decimal


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
    coupon: Coupon,
    unit_id: int,
    order_amount: Decimal,
    now: datetime,
    redeemable: set[int],
    blacklisted: bool | None = None,
) -> Decimal:
    """The discount ``coupon`` gives on an order at ``unit_id``, or the precise refusal.
    ``blacklisted``: whether the owner is, if the caller's query already asked (``False``
    spares a query; otherwise the blacklist is read, and names since when and why)."""
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
    if blacklisted is not False:
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
    # The redemption's read (prepared once per connection): the coupon with its template
    # and units, where it may be redeemed, whether its owner is blacklisted.
    found = redemption_sql.read(normalized, unit_id, "", month_of(now))
    if found is None:
        raise CouponUnknown(_("No coupon has this code."), field="code")
    coupon = found.coupon
    redeemable = {unit_id} if found.redeemable_here else set()
    discount = check_coupon(coupon, unit_id, amount, now, redeemable, found.blacklisted)
    return Validation(coupon, discount, amount)
