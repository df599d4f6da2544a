"""Customer metrics per business unit: one narrow row per customer and unit the customer
dealt with (``crm.services.recompute_metrics`` writes them beside the group-wide row), and the
lifecycle thresholds of a unit that counts time differently (a car is bought every few years,
groceries every week).

Every figure is defined in ``crm/METRICS.md`` ("Per business unit").
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.customers import Customer, CustomerKind
from crm.models.metrics import RfmFigures
from crm.models.platform import BusinessUnit


class UnitStageThresholds(models.Model):
    """The lifecycle thresholds of one business unit's per-unit stages; a unit without a row
    uses the group's (``MetricsSettings``)."""

    business_unit = models.OneToOneField(
        BusinessUnit,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="stage_thresholds",
        verbose_name=_("business unit"),
    )
    new_days = models.PositiveIntegerField(
        _("“new” (days)"),
        default=30,
        validators=[MinValueValidator(1)],
        help_text=_("A customer is new while the first purchase is at most this many days old."),
    )
    active_days = models.PositiveIntegerField(
        _("“active” (days)"),
        default=90,
        validators=[MinValueValidator(1)],
        help_text=_("Active: the last purchase at most this many days ago."),
    )
    at_risk_days = models.PositiveIntegerField(
        _("“at risk” (days)"),
        default=180,
        help_text=_("At risk: the last purchase at most this many days ago (and not active)."),
    )
    dormant_days = models.PositiveIntegerField(
        _("“dormant” (days)"),
        default=365,
        help_text=_("Dormant: at most this many days (and not at risk); lost beyond."),
    )

    class Meta:
        verbose_name = _("unit stage thresholds")
        verbose_name_plural = _("unit stage thresholds")
        constraints = [
            models.CheckConstraint(
                condition=Q(new_days__lte=F("active_days"))
                & Q(active_days__lt=F("at_risk_days"))
                & Q(at_risk_days__lt=F("dormant_days")),
                name="unit_stage_thresholds_ordered",
                violation_error_message=_(
                    "The stage thresholds must grow: “new” ≤ “active” < “at risk” < “dormant”."
                ),
            ),
        ]

    def __str__(self) -> str:
        return str(self.business_unit)


class CustomerUnitMetrics(RfmFigures):
    """The figures of one customer in one business unit as of ``as_of``."""

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="unit_metrics",
        verbose_name=_("customer"),
        db_index=False,  # unit_metrics_customer_unit leads with it
    )
    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("business unit"),
        db_index=False,  # unit_metrics_unit_stage leads with it
    )
    computed_at = models.DateTimeField(_("computed"), default=timezone.now, db_default=Now())

    # What segments most often combine with a unit's figures, kept in the row itself so that a
    # count starting from one unit's stage reads nothing else (crm/METRICS.md, "Segment facts
    # in the per-unit rows"; the rule compiler folds conditions into the row's EXISTS).
    # Copies of the master, kept exact by the database (triggers on crm_customer and
    # crm_identity, migration 0025) and re-read by every recompute:
    customer_kind = models.CharField(
        _("customer kind"), max_length=12, choices=CustomerKind.choices, db_default=""
    )
    customer_mobiles = models.IntegerField(
        _("customer's mobile phones"),
        db_default=0,
        help_text=_("How many mobile phone identities the customer has."),
    )
    # Written by the same recompute as the rows they summarize:
    customer_monetary = models.DecimalField(
        _("customer's group net spend"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("The group-wide monetary value of the customer's metrics row."),
    )
    customer_units = ArrayField(
        models.BigIntegerField(),
        verbose_name=_("customer's units"),
        db_default=[],
        blank=True,
        help_text=_("Every business unit the customer has a row of."),
    )

    class Meta:
        verbose_name = _("customer metrics per unit")
        verbose_name_plural = _("customer metrics per unit")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "business_unit"], name="unit_metrics_customer_unit"
            ),
            models.CheckConstraint(
                condition=Q(r_score__isnull=True) | Q(r_score__range=(1, 5)),
                name="unit_metrics_r_score_1_5",
            ),
            models.CheckConstraint(
                condition=Q(f_score__isnull=True) | Q(f_score__range=(1, 5)),
                name="unit_metrics_f_score_1_5",
            ),
            models.CheckConstraint(
                condition=Q(m_score__isnull=True) | Q(m_score__range=(1, 5)),
                name="unit_metrics_m_score_1_5",
            ),
        ]
        indexes = [
            # Segments and lists: "active in unit A", "champions of unit B".
            models.Index(
                "business_unit", "lifecycle_stage", "customer", name="unit_metrics_unit_stage"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} @ {self.business_unit_id} {self.as_of}"
