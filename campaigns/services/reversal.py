"""Reversing a redemption on refund: within the template's window, a template marked
"restored on refund" gives the coupon back (and the settlement is reversed by lines the other
way round); otherwise the refund is recorded and the coupon stays used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.errors import CouponUnknown, InvalidCouponRequest, ReferenceReused, ReversalRefused
from campaigns.models import REFERENCE_MAX, Coupon, CouponReversal, CouponStatus
from campaigns.services.redemption import EVENT_REVERSED, _settle
from campaigns.services.rollup import note_change
from campaigns.services.validation import _unit_id, parse_code
from crm.models import BusinessUnit
from crm.services import record_event


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
            note_change(redeemed_at=coupon.redeemed_at)  # its month's cell loses it
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
