"""What happened to a customer (the timeline) and what they agreed to (consents)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.customers import Customer, staff_member
from crm.models.platform import BusinessUnit
from crm.policy import ScopedQuerySet


class TimelineEventQuerySet(ScopedQuerySet["TimelineEvent"]):
    def visible_to(self, user: Any) -> TimelineEventQuerySet:
        """Group-wide events (no unit) and events of the user's units."""
        from crm.policy import visible_unit_ids

        unit_ids = visible_unit_ids(user)
        if unit_ids is None:
            return self.all()
        return self.filter(Q(business_unit__isnull=True) | Q(business_unit__in=unit_ids))


class TimelineEvent(models.Model):
    """Anything that happened with a customer. Every app writes here through
    ``crm.services.record_event`` in the same transaction as the change it records."""

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("customer"),
        db_index=False,  # event_customer_recent and event_customer_type lead with it
    )
    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business unit"),
    )
    type = models.CharField(_("type"), max_length=50)
    # event_actor indexes only the events a user caused (not a partner's)
    actor = staff_member(_("actor"), db_index=False)
    occurred_at = models.DateTimeField(_("occurred"), default=timezone.now, db_default=Now())
    summary = models.CharField(_("summary"), max_length=300)
    data = models.JSONField(_("data"), default=dict, db_default={}, blank=True)

    objects = TimelineEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                "customer", F("occurred_at").desc(), F("id").desc(), name="event_customer_recent"
            ),
            models.Index(fields=["customer", "type"], name="event_customer_type"),
            # For SET_NULL when a user is deleted; the events partners' requests record (points
            # earned and redeemed at a POS, orders pushed) have no actor and are not indexed.
            models.Index(fields=["actor"], condition=Q(actor__isnull=False), name="event_actor"),
        ]

    def __str__(self) -> str:
        return self.summary


class ConsentChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    WECHAT = "wechat", _("WeChat")
    PHONE = "phone", _("Phone call")


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service")


class Consent(models.Model):
    """One grant or withdrawal. Rows are never changed: the latest per channel and purpose is
    the current state, the rest is the history."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="consents", verbose_name=_("customer")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ConsentChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    source = models.CharField(_("source"), max_length=60)
    actor = staff_member(_("recorded by"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                "customer",
                "channel",
                "purpose",
                F("occurred_at").desc(),
                F("id").desc(),
                name="consent_current",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=ConsentChannel.values), name="consent_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=ConsentPurpose.values), name="consent_purpose_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose}: {'+' if self.granted else '-'}"
