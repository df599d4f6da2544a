"""Customer metrics: one narrow row per customer (RFM, lifecycle, churn warning, lifetime value,
engagement), its monthly snapshots, and the settings they are computed with.

Every figure is defined in ``crm/METRICS.md`` in the same words as the ``help_text`` here
(``tests/crm/test_metrics.py`` checks that each one is there); ``crm.services.metrics``
computes them set-based in SQL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.customers import Customer


class RfmSegment(models.TextChoices):
    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL_LOYALIST = "potential_loyalist", _("Potential loyalist")
    NEW = "new", _("New customers")
    PROMISING = "promising", _("Promising")
    NEED_ATTENTION = "need_attention", _("Need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to sleep")
    AT_RISK = "at_risk", _("At risk")
    CANNOT_LOSE = "cannot_lose", _("Cannot lose them")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")
    NO_PURCHASE = "no_purchase", _("No purchase")


# The segment table: the segment of each (R score, F score), R from 1 (longest ago) to 5 (most
# recent), F from 1 (fewest purchases) to 5 (most). The same table is in crm/METRICS.md.
S = RfmSegment
SEGMENT_GRID: dict[int, tuple[str, str, str, str, str]] = {
    #   F = 1               2                     3                     4           5
    1: (S.LOST, S.HIBERNATING, S.AT_RISK, S.AT_RISK, S.CANNOT_LOSE),
    2: (S.HIBERNATING, S.HIBERNATING, S.AT_RISK, S.AT_RISK, S.CANNOT_LOSE),
    3: (S.ABOUT_TO_SLEEP, S.ABOUT_TO_SLEEP, S.NEED_ATTENTION, S.LOYAL, S.LOYAL),
    4: (S.PROMISING, S.POTENTIAL_LOYALIST, S.POTENTIAL_LOYALIST, S.LOYAL, S.LOYAL),
    5: (S.NEW, S.POTENTIAL_LOYALIST, S.POTENTIAL_LOYALIST, S.CHAMPIONS, S.CHAMPIONS),
}
del S


def rfm_segment_of(r_score: int | None, f_score: int | None) -> str:
    """The segment table read in Python (the SQL reads the same table)."""
    if r_score is None or f_score is None:
        return RfmSegment.NO_PURCHASE
    return str(SEGMENT_GRID[r_score][f_score - 1])


class LifecycleStage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    NEW = "new", _("New")
    ACTIVE = "active", _("Active")
    AT_RISK = "at_risk", _("At risk")
    DORMANT = "dormant", _("Dormant")
    LOST = "lost", _("Lost")


class EngagementStage(models.TextChoices):
    PASSER_BY = "passer_by", _("Passer-by")
    FOLLOWER = "follower", _("Follower")
    INTERACTOR = "interactor", _("Interactor")
    FAN = "fan", _("Fan")


# --- The definitions, word for word as in crm/METRICS.md --------------------------------------

HELP = {
    "as_of": _("The reference date the figures are computed as of (default: today)."),
    "recency_days": _(
        "Recency: days from the day of the last purchase to the reference date; empty "
        "without a purchase."
    ),
    "frequency": _("Frequency: the number of purchases up to the reference date."),
    "monetary": _(
        "Monetary: net spend, the sum of the amounts of every transaction up to the "
        "reference date (purchases, including orders cancelled later, plus cancellations and "
        "refunds, which are negative)."
    ),
    "r_score": _(
        "R score: 1 + floor(5 × (rank − 1) / n) among the n customers with a purchase, "
        "ranked from the longest recency to the shortest, ties taking the lowest rank."
    ),
    "f_score": _(
        "F score: 1 + floor(5 × (rank − 1) / n) among the n customers with a purchase, "
        "ranked from the lowest frequency to the highest, ties taking the lowest rank."
    ),
    "m_score": _(
        "M score: 1 + floor(5 × (rank − 1) / n) among the n customers with a purchase, "
        "ranked from the lowest monetary to the highest, ties taking the lowest rank."
    ),
    "rfm_segment": _(
        "RFM segment: read from the segment table by the R and F scores; “no purchase” "
        "without a purchase."
    ),
    "lifecycle_stage": _(
        "Lifecycle stage: prospect without a purchase; new when the first purchase is at "
        "most “new” days before the reference date; otherwise by recency: active (at most "
        "“active” days), at risk (at most “at risk” days), dormant (at most “dormant” days), "
        "lost (more)."
    ),
    "first_purchase_at": _("First purchase: the time of the earliest purchase."),
    "last_purchase_at": _("Last purchase: the time of the latest purchase."),
    "median_gap_days": _(
        "Median gap: the median of the days between consecutive purchases; empty with "
        "fewer than two purchases."
    ),
    "churn_risk": _(
        "Churn warning: at least “churn minimum purchases” purchases and a recency over "
        "“churn gap multiplier” × the median gap."
    ),
    "churn_overdue_days": _(
        "Overdue: the recency minus “churn gap multiplier” × the median gap, for a churn warning."
    ),
    "lifetime_value": _("Historical lifetime value: the net spend (the monetary value)."),
    "lifetime_value_forecast": _(
        "12-month lifetime value forecast: average order value (net spend ÷ purchases, not "
        "below 0) × purchases per year (purchases × 365 ÷ the larger of the days since the "
        "first purchase and “forecast minimum tenure”) × “forecast margin”, rounded to the "
        "cent; 0 without a purchase."
    ),
    "business_units": _("Business units used: the units where the customer made a purchase."),
    "business_unit_count": _(
        "Units used: how many business units the customer bought in; two or more is a "
        "cross-unit customer."
    ),
    "engagement_stage": _(
        "Engagement stage, from the timeline events whose types the registry marks as "
        "follows, interactions or referrals (follows up to the reference date; interactions, "
        "referrals and purchases of the engagement window, its last “engagement window” "
        "days): fan (at least “fan referrals” referrals, or at least “fan purchases” "
        "purchases and “fan interactions” interactions), interactor (an interaction or a "
        "purchase), follower (a follow), passer-by (none of them)."
    ),
}

# A purchase, the reference date and the days counted (the same words in crm/METRICS.md).
PURCHASE_DEFINITION = _(
    "A purchase is a completed order with a positive amount that was not cancelled or "
    "refunded as a whole; cancellations and refunds count only in net spend."
)
DAYS_DEFINITION = _(
    "Days are calendar days in the group's time zone; a transaction counts when its day is "
    "at most the reference date."
)


def score_field(name: Any, key: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        name,
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=HELP[key],
    )


class RfmFigures(models.Model):
    """The figures the group-wide row and the per-unit rows share (``crm/METRICS.md``)."""

    as_of = models.DateField(_("reference date"), help_text=HELP["as_of"])
    recency_days = models.IntegerField(
        _("recency (days)"), null=True, blank=True, help_text=HELP["recency_days"]
    )
    frequency = models.IntegerField(
        _("frequency"), default=0, db_default=0, help_text=HELP["frequency"]
    )
    monetary = models.DecimalField(
        _("monetary"),
        max_digits=16,
        decimal_places=2,
        default=Decimal(0),
        db_default=Decimal(0),
        help_text=HELP["monetary"],
    )
    r_score = score_field(_("R score"), "r_score")
    f_score = score_field(_("F score"), "f_score")
    m_score = score_field(_("M score"), "m_score")
    rfm_segment = models.CharField(
        _("RFM segment"),
        max_length=20,
        choices=RfmSegment.choices,
        default=RfmSegment.NO_PURCHASE,
        db_default=RfmSegment.NO_PURCHASE,
        help_text=HELP["rfm_segment"],
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=12,
        choices=LifecycleStage.choices,
        default=LifecycleStage.PROSPECT,
        db_default=LifecycleStage.PROSPECT,
        help_text=HELP["lifecycle_stage"],
    )
    first_purchase_at = models.DateTimeField(
        _("first purchase"), null=True, blank=True, help_text=HELP["first_purchase_at"]
    )
    last_purchase_at = models.DateTimeField(
        _("last purchase"), null=True, blank=True, help_text=HELP["last_purchase_at"]
    )

    class Meta:
        abstract = True

    @property
    def rfm_code(self) -> str:
        """``R-F-M`` scores as one code (``5-4-3``); empty without a purchase."""
        if self.r_score is None:
            return ""
        return f"{self.r_score}-{self.f_score}-{self.m_score}"


class CustomerMetrics(RfmFigures):
    """The figures of one customer as of ``as_of`` (``crm.services.recompute_metrics``):
    lists, filters and segments read this narrow row instead of the transactions."""

    customer = models.OneToOneField(
        Customer,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="metrics",
        verbose_name=_("customer"),
    )
    median_gap_days = models.DecimalField(
        _("median gap (days)"),
        max_digits=8,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=HELP["median_gap_days"],
    )
    churn_risk = models.BooleanField(
        _("churn warning"), default=False, db_default=False, help_text=HELP["churn_risk"]
    )
    churn_overdue_days = models.DecimalField(
        _("overdue (days)"),
        max_digits=8,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=HELP["churn_overdue_days"],
    )
    lifetime_value = models.DecimalField(
        _("lifetime value"),
        max_digits=16,
        decimal_places=2,
        default=Decimal(0),
        db_default=Decimal(0),
        help_text=HELP["lifetime_value"],
    )
    lifetime_value_forecast = models.DecimalField(
        _("12-month value forecast"),
        max_digits=16,
        decimal_places=2,
        default=Decimal(0),
        db_default=Decimal(0),
        help_text=HELP["lifetime_value_forecast"],
    )
    business_units = ArrayField(
        models.BigIntegerField(),
        verbose_name=_("business units used"),
        default=list,
        db_default=[],
        blank=True,
        help_text=HELP["business_units"],
    )
    business_unit_count = models.PositiveSmallIntegerField(
        _("units used"), default=0, db_default=0, help_text=HELP["business_unit_count"]
    )
    engagement_stage = models.CharField(
        _("engagement stage"),
        max_length=12,
        choices=EngagementStage.choices,
        default=EngagementStage.PASSER_BY,
        db_default=EngagementStage.PASSER_BY,
        help_text=HELP["engagement_stage"],
    )
    computed_at = models.DateTimeField(_("computed"), default=timezone.now, db_default=Now())

    class Meta:
        verbose_name = _("customer metrics")
        verbose_name_plural = _("customer metrics")
        permissions = [("recompute_customermetrics", _("Can recompute customer metrics"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(r_score__isnull=True) | Q(r_score__range=(1, 5)),
                name="metrics_r_score_1_5",
            ),
            models.CheckConstraint(
                condition=Q(f_score__isnull=True) | Q(f_score__range=(1, 5)),
                name="metrics_f_score_1_5",
            ),
            models.CheckConstraint(
                condition=Q(m_score__isnull=True) | Q(m_score__range=(1, 5)),
                name="metrics_m_score_1_5",
            ),
        ]
        indexes = [
            # The customer list filtered by stage or segment, newest customers first.
            models.Index("lifecycle_stage", F("customer").desc(), name="metrics_stage_customer"),
            models.Index("rfm_segment", F("customer").desc(), name="metrics_segment_customer"),
            # The churn warnings, most overdue first.
            models.Index(
                F("churn_overdue_days").desc(),
                name="metrics_churn_overdue",
                condition=Q(churn_risk=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.as_of}"


class MetricsSnapshot(models.Model):
    """The metrics as they were in a month: one row per customer (``customer`` set,
    ``customers`` = 1) and one aggregate row per lifecycle stage and RFM segment (``customer``
    empty, ``customers`` and sums over them), so that the dashboards read months and "this
    segment as it was on 1 March" is answerable."""

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    as_of = models.DateField(_("reference date"), help_text=HELP["as_of"])
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer"),
        db_index=False,  # metrics_snapshot_customer_unique leads with month
        help_text=_("Empty for an aggregate row."),
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=12, choices=LifecycleStage.choices
    )
    rfm_segment = models.CharField(_("RFM segment"), max_length=20, choices=RfmSegment.choices)
    r_score = models.PositiveSmallIntegerField(_("R score"), null=True, blank=True)
    f_score = models.PositiveSmallIntegerField(_("F score"), null=True, blank=True)
    m_score = models.PositiveSmallIntegerField(_("M score"), null=True, blank=True)
    customers = models.IntegerField(_("customers"), default=1, db_default=1)
    churn_risks = models.IntegerField(_("churn warnings"), default=0, db_default=0)
    monetary = models.DecimalField(_("monetary"), max_digits=18, decimal_places=2)
    lifetime_value_forecast = models.DecimalField(
        _("12-month value forecast"), max_digits=18, decimal_places=2
    )
    taken_at = models.DateTimeField(_("taken"), default=timezone.now, db_default=Now())

    class Meta:
        verbose_name = _("metrics snapshot")
        verbose_name_plural = _("metrics snapshots")
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "customer"],
                condition=Q(customer__isnull=False),
                name="metrics_snapshot_customer_unique",
            ),
            models.UniqueConstraint(
                fields=["month", "lifecycle_stage", "rfm_segment"],
                condition=Q(customer__isnull=True),
                name="metrics_snapshot_aggregate_unique",
            ),
            models.CheckConstraint(
                condition=Q(month__day=1), name="metrics_snapshot_first_of_month"
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "month"],
                name="metrics_snapshot_by_customer",
                condition=Q(customer__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.customer_id or '*'}"
