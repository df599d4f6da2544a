"""Campaigns: who issues, for what goal, when, with what budget, and in which state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import BusinessUnit, Segment, SegmentSnapshot
from crm.policy import ScopedQuerySet


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


# draft → scheduled → active ⇄ paused → ended; a scheduled campaign may go back to draft or be
# called off (ended) before it starts. Nothing leaves "ended".
CAMPAIGN_TRANSITIONS: dict[str, frozenset[str]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.SCHEDULED}),
    CampaignStatus.SCHEDULED: frozenset(
        {CampaignStatus.DRAFT, CampaignStatus.ACTIVE, CampaignStatus.ENDED}
    ),
    CampaignStatus.ACTIVE: frozenset({CampaignStatus.PAUSED, CampaignStatus.ENDED}),
    CampaignStatus.PAUSED: frozenset({CampaignStatus.ACTIVE, CampaignStatus.ENDED}),
    CampaignStatus.ENDED: frozenset(),
}


class CampaignChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("E-mail")
    APP = "app", _("App")
    STORE = "store", _("In store")


class Campaign(models.Model):
    scope_field: ClassVar[str] = "business_unit"

    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        related_name="campaigns",
        verbose_name=_("issuing unit"),
    )
    name = models.CharField(_("name"), max_length=120)
    goal = models.TextField(_("goal"), blank=True)
    starts_on = models.DateField(_("starts"))
    ends_on = models.DateField(_("ends"))
    budget = models.DecimalField(_("budget"), max_digits=14, decimal_places=2)
    # The face value of the coupons issued for the campaign: raised by a conditional UPDATE
    # (never past the budget; the check below is the backstop).
    issued_value = models.DecimalField(
        _("face value issued"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        db_default=Decimal("0"),
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY", db_default="CNY")
    channels = ArrayField(
        models.CharField(max_length=10, choices=CampaignChannel.choices),
        verbose_name=_("channels"),
        default=list,
        blank=True,
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CampaignStatus.choices,
        default=CampaignStatus.DRAFT,
        db_default=CampaignStatus.DRAFT,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owner"),
    )
    target_segment = models.ForeignKey(
        Segment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("target segment"),
    )
    # The segment's members as they were when the campaign started (taken on the first move
    # to active and kept through pauses): the campaign's audience.
    audience_snapshot = models.ForeignKey(
        SegmentSnapshot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("audience snapshot"),
    )
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="campaign_period_ordered"
            ),
            models.CheckConstraint(condition=Q(budget__gte=0), name="campaign_budget_positive"),
            models.CheckConstraint(
                condition=Q(issued_value__gte=0) & Q(issued_value__lte=F("budget")),
                name="campaign_within_budget",
            ),
        ]
        indexes = [models.Index(fields=["business_unit", "status"], name="campaign_unit_status")]

    def __str__(self) -> str:
        return self.name

    def can_become(self, status: str) -> bool:
        return status in CAMPAIGN_TRANSITIONS.get(self.status, frozenset())

    @property
    def audience_frozen(self) -> bool:
        return self.audience_snapshot_id is not None

    def allowed_statuses(self) -> list[Any]:
        return [s for s in CampaignStatus if self.can_become(s)]
