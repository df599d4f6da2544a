"""Trigger rules: "when an event of type E happens in unit X (and its condition holds), issue
template T to that customer, paid by unit Y, within a budget", and their firings (one per rule
and event, whatever happens: issued, skipped, or the budget ran out)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.coupons import MONEY, Coupon, CouponTemplate
from crm.models import BusinessUnit, Customer
from crm.policy import ScopedQuerySet

# The pseudo event type of a stored transaction (the master's transaction hook): its
# condition is the amount.
TRANSACTION_EVENT = "transaction.stored"


class TriggerRule(models.Model):
    scope_field: ClassVar[str] = "funding_business_unit"

    name = models.CharField(_("name"), max_length=120)
    event_type = models.CharField(_("event"), max_length=50)
    source_business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("in unit"),
        help_text=_("Empty: in any unit, and group-wide events (e.g. a member's level)."),
    )
    min_amount = models.DecimalField(
        _("transaction amount at least"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_("For transactions: only orders of at least this amount."),
    )
    data_key = models.CharField(
        _("event detail"),
        max_length=50,
        blank=True,
        default="",
        help_text=_("For other events: the detail to compare, e.g. “level”."),
    )
    data_value = models.CharField(
        _("equal to"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("e.g. “gold”: only members reaching the gold level."),
    )
    template = models.ForeignKey(
        CouponTemplate,
        on_delete=models.PROTECT,
        related_name="trigger_rules",
        verbose_name=_("issue template"),
    )
    funding_business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("paid by"),
    )
    budget_count = models.PositiveIntegerField(_("budget: coupons"))
    budget_value = models.DecimalField(_("budget: face value"), **MONEY)
    issued_count = models.PositiveIntegerField(_("coupons issued"), default=0, db_default=0)
    issued_value = models.DecimalField(
        _("face value issued"), **MONEY, default=Decimal("0"), db_default=Decimal("0")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owner"),
    )
    is_active = models.BooleanField(_("active"), default=True, db_default=True)
    exhausted_at = models.DateTimeField(_("budget exhausted"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("trigger rule")
        verbose_name_plural = _("trigger rules")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(issued_count__lte=F("budget_count")), name="trigger_within_count"
            ),
            models.CheckConstraint(
                condition=Q(issued_value__lte=F("budget_value")), name="trigger_within_value"
            ),
            models.CheckConstraint(
                condition=Q(issued_value__gte=0) & Q(budget_value__gte=0),
                name="trigger_value_positive",
            ),
        ]
        indexes = [
            models.Index(
                fields=["event_type", "source_business_unit"],
                name="trigger_rule_active",
                condition=Q(is_active=True),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def matches(self, *, amount: Decimal | None = None, data: dict | None = None) -> bool:
        """Whether an event of this rule's type and unit meets its condition."""
        if self.min_amount is not None and (amount is None or amount < self.min_amount):
            return False
        if self.data_key:
            return str((data or {}).get(self.data_key, "")) == self.data_value
        return True


class FiringOutcome(models.TextChoices):
    ISSUED = "issued", _("Coupon issued")
    SKIPPED_BLACKLISTED = "skipped_blacklisted", _("Skipped: customer blacklisted")
    BUDGET_EXHAUSTED = "budget_exhausted", _("Budget exhausted")
    STOCK_EXHAUSTED = "stock_exhausted", _("Template out of stock")
    LIMIT_REACHED = "limit_reached", _("Customer limit reached")
    INACTIVE = "inactive", _("Rule or template inactive")


class TriggerFiring(models.Model):
    """What a rule did for one event; ``(rule, event_key)`` is unique, so an event processed
    twice (a retried task, the same order pushed again) fires a rule at most once."""

    scope_field: ClassVar[str] = "rule__funding_business_unit"

    rule = models.ForeignKey(
        TriggerRule, on_delete=models.CASCADE, related_name="firings", verbose_name=_("rule")
    )
    event_key = models.CharField(_("event"), max_length=60)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer")
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=FiringOutcome.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True, default="")
    coupon = models.ForeignKey(
        Coupon,
        verbose_name=_("coupon"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("trigger firing")
        verbose_name_plural = _("trigger firings")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "event_key"], name="trigger_fires_once"),
        ]
        indexes = [models.Index(fields=["customer"], name="trigger_firing_customer")]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.event_key}: {self.outcome}"
