"""Campaigns' status machine and the templates' funding shares; voiding coupons."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.errors import (
    CampaignTransitionRefused,
    CouponError,
    InvalidCouponRequest,
    NoAudience,
)
from campaigns.models import (
    BulkIssue,
    Campaign,
    CampaignStatus,
    Coupon,
    CouponStatus,
    CouponTemplate,
    TemplateFunding,
)
from campaigns.services.issuing import start_bulk_issue
from crm.selectors import snapshot_customers
from crm.services import record_event, snapshot_segment

EVENT_VOIDED = "coupon.voided"


def change_campaign_status(
    *, campaign: Campaign | int, status: str, user: Any = None, now: datetime | None = None
) -> Campaign:
    """Move a campaign along draft → scheduled → active ⇄ paused → ended; anything else is
    refused with the moves allowed from where it is. The first move to active freezes the
    target segment's members as the campaign's audience (a snapshot, in the same
    transaction); resuming after a pause keeps that audience."""
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
        now = now or timezone.now()
        fields = ["status", "status_changed_at"]
        segment = locked.target_segment
        if (
            status == CampaignStatus.ACTIVE
            and segment is not None
            and locked.audience_snapshot_id is None
        ):
            locked.audience_snapshot = snapshot_segment(segment=segment, actor=user, now=now)
            fields.append("audience_snapshot")
        locked.status = status
        locked.status_changed_at = now
        locked.save(update_fields=fields)
    return locked


def audience_ids(campaign: Campaign) -> list[int]:
    """The customers of the campaign's frozen audience (each as the customer it is now, a
    merged one as its survivor), in id order."""
    if campaign.audience_snapshot_id is None:
        return []
    snapshot = campaign.audience_snapshot
    assert snapshot is not None
    return list(snapshot_customers(snapshot).order_by("pk").values_list("pk", flat=True))


def start_audience_issue(
    *,
    campaign: Campaign,
    template: CouponTemplate,
    user: Any = None,
    run_now: bool = False,
) -> BulkIssue:
    """Issue ``template`` to the campaign's audience (its segment as frozen when it started)
    as a bulk issue job. The run's key names the campaign, template and snapshot, so starting
    it again resumes the same run: nobody gets a second coupon from it."""
    if campaign.status != CampaignStatus.ACTIVE:
        raise NoAudience(
            _("Coupons go to a campaign's audience only while it is active."), field="status"
        )
    if campaign.audience_snapshot_id is None:
        raise NoAudience(
            _("This campaign has no target segment, so it has no audience to issue to."),
            field="target_segment",
        )
    if template.business_unit_id != campaign.business_unit_id:
        raise InvalidCouponRequest(
            _("Choose a template of the campaign's issuing unit."), field="template"
        )
    key = f"campaign-{campaign.pk}-template-{template.pk}-audience-{campaign.audience_snapshot_id}"
    return start_bulk_issue(
        template=template,
        customer_ids=audience_ids(campaign),
        key=key,
        campaign=campaign,
        user=user,
        run_now=run_now,
    )


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
