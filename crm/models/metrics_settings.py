"""The settings the customer metrics are computed with (``crm/METRICS.md``, "Settings"): one
row, edited in the admin."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class MetricsSettings(models.Model):
    """The one row of settings the metrics are computed with (``MetricsSettings.current()``),
    edited in the admin."""

    reference_date = models.DateField(
        _("fixed reference date"),
        null=True,
        blank=True,
        help_text=_(
            "Leave empty to compute as of today (the nightly run). Set it to look at "
            "historical data as of a past day."
        ),
    )
    new_days = models.PositiveIntegerField(
        _("“new” (days)"),
        default=30,
        db_default=30,
        help_text=_("A customer is new while the first purchase is at most this many days old."),
    )
    active_days = models.PositiveIntegerField(
        _("“active” (days)"),
        default=90,
        db_default=90,
        help_text=_("Active: the last purchase at most this many days ago."),
    )
    at_risk_days = models.PositiveIntegerField(
        _("“at risk” (days)"),
        default=180,
        db_default=180,
        help_text=_("At risk: the last purchase at most this many days ago (and not active)."),
    )
    dormant_days = models.PositiveIntegerField(
        _("“dormant” (days)"),
        default=365,
        db_default=365,
        help_text=_("Dormant: at most this many days (and not at risk); lost beyond."),
    )
    churn_min_purchases = models.PositiveIntegerField(
        _("churn minimum purchases"),
        default=3,
        db_default=3,
        validators=[MinValueValidator(2)],
        help_text=_("Churn warnings only for customers with at least this many purchases."),
    )
    churn_gap_multiplier = models.DecimalField(
        _("churn gap multiplier"),
        max_digits=4,
        decimal_places=1,
        default=Decimal(2),
        db_default=Decimal(2),
        validators=[MinValueValidator(Decimal(1))],
        help_text=_("A warning when the recency exceeds this many times the median gap."),
    )
    forecast_margin = models.DecimalField(
        _("forecast margin"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.300"),
        db_default=Decimal("0.300"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text=_("The share of spend the group keeps (0–1) in the lifetime value forecast."),
    )
    forecast_min_tenure_days = models.PositiveIntegerField(
        _("forecast minimum tenure (days)"),
        default=90,
        db_default=90,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Purchases per year are counted over at least this many days, so that one recent "
            "purchase is not extrapolated into hundreds a year."
        ),
    )
    engagement_window_days = models.PositiveIntegerField(
        _("engagement window (days)"),
        default=365,
        db_default=365,
        validators=[MinValueValidator(1)],
        help_text=_("Engagement counts the events and purchases of this many days."),
    )
    fan_referrals = models.PositiveIntegerField(
        _("fan referrals"), default=1, db_default=1, validators=[MinValueValidator(1)]
    )
    fan_purchases = models.PositiveIntegerField(
        _("fan purchases"), default=3, db_default=3, validators=[MinValueValidator(1)]
    )
    fan_interactions = models.PositiveIntegerField(
        _("fan interactions"), default=3, db_default=3, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("metrics settings")
        verbose_name_plural = _("metrics settings")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="metrics_settings_single"),
            models.CheckConstraint(
                condition=Q(new_days__lte=F("active_days"))
                & Q(active_days__lt=F("at_risk_days"))
                & Q(at_risk_days__lt=F("dormant_days")),
                name="metrics_settings_stages_ordered",
                violation_error_message=_(
                    "The stage thresholds must grow: “new” ≤ “active” < “at risk” < “dormant”."
                ),
            ),
        ]

    def __str__(self) -> str:
        return str(_("Metrics settings"))

    @classmethod
    def current(cls) -> MetricsSettings:
        found, _created = cls.objects.get_or_create(pk=1)
        return found
