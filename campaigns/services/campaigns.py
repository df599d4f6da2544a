"""Campaigns' status machine and the templates' funding shares; voiding coupons."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.errors import CampaignTransitionRefused, CouponError, InvalidCouponRequest
from campaigns.models import (
    Campaign,
    CampaignStatus,
    Coupon,
    CouponStatus,
    CouponTemplate,
    TemplateFunding,
)
from crm.services import record_event

EVENT_VOIDED = "coupon.voided"


def change_campaign_status(
    *, campaign: Campaign | int, status: str, user: Any = None, now: datetime | None = None
) -> Campaign:
    """Move a campaign along draft → scheduled → active ⇄ paused → ended; anything else is
    refused with the moves allowed from where it is."""
    pk = campaign if isinstance(campaign, int) else campaign.pk
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=pk)
        if status not in CampaignStatus.values or not locked.can_become(status):
            allowed = ", ".join(str(s.label) for s in locked.allowed_statuses()) or _("none")
            raise CampaignTransitionRefused(
                _("A campaign cannot go from “%(from)s” to “%(to)s” (allowed: %(allowed)s).")
                % {
                    "from": locked.get_status_display(),
                    "to": dict(CampaignStatus.choices).get(status, status),
                    "allowed": allowed,
                },
                field="status",
            )
        locked.status = status
        locked.status_changed_at = now or timezone.now()
        locked.save(update_fields=["status", "status_changed_at"])
    return locked


def set_funding(
    *, template: CouponTemplate | int, shares: Iterable[tuple[Any, Decimal]]
) -> list[TemplateFunding]:
    """Replace a template's funding units and shares; the shares must add up to 100 %."""
    pk = template if isinstance(template, int) else template.pk
    rows = [(u if isinstance(u, int) else u.pk, Decimal(s)) for u, s in shares]
    if not rows:
        raise InvalidCouponRequest(_("Name at least one funding unit."), field="fundings")
    if len({u for u, _s in rows}) != len(rows):
        raise InvalidCouponRequest(_("Each funding unit appears once."), field="fundings")
    if any(s <= 0 or s > 100 for _u, s in rows):
        raise InvalidCouponRequest(_("Each share is above 0 and at most 100 %."), field="fundings")
    if sum(s for _u, s in rows) != Decimal("100"):
        raise InvalidCouponRequest(
            _("The funding shares add up to %(sum)s %%, not 100 %%.")
            % {"sum": sum(s for _u, s in rows)},
            field="fundings",
        )
    with transaction.atomic():
        CouponTemplate.objects.select_for_update().filter(pk=pk).first()
        TemplateFunding.objects.filter(template_id=pk).delete()
        return TemplateFunding.objects.bulk_create(
            [TemplateFunding(template_id=pk, business_unit_id=u, share=s) for u, s in rows]
        )


def check_funding_shares(shares: Iterable[Decimal]) -> None:
    """The admin's formset check: the shares of a template add up to 100 %."""
    total = sum((Decimal(s) for s in shares), Decimal("0"))
    if total != Decimal("100"):
        raise InvalidCouponRequest(
            _("The funding shares add up to %(sum)s %%, not 100 %%.") % {"sum": total},
            field="fundings",
        )


def void_coupons(
    *, coupons: Iterable[int], reason: str, user: Any = None, now: datetime | None = None
) -> int:
    """Void issued coupons (a mistake, fraud): one conditional ``UPDATE``; redeemed, expired
    or already voided coupons are left as they are. Returns how many were voided."""
    reason = (reason or "").strip()[:300]
    if not reason:
        raise CouponError(_("Say why the coupons are voided."), field="reason")
    now = now or timezone.now()
    ids = [int(c) for c in coupons]
    with transaction.atomic():
        voided = list(
            Coupon.objects.select_for_update()
            .filter(pk__in=ids, status=CouponStatus.ISSUED)
            .order_by("pk")
            .values_list("pk", "customer_id", "business_unit_id", "template__name")
        )
        Coupon.objects.filter(pk__in=[v[0] for v in voided]).update(
            status=CouponStatus.VOIDED, voided_at=now, void_reason=reason
        )
        for pk, customer_id, unit_id, name in voided:
            record_event(
                customer=customer_id,
                type=EVENT_VOIDED,
                summary="Coupon voided",
                business_unit=unit_id,
                actor=user,
                occurred_at=now,
                data={"coupon": pk, "name": name, "reason": reason},
            )
    return len(voided)
