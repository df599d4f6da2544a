"""The programme's configuration: levels, earning rules per unit, point value, settings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.policy import ScopedQuerySet


class QualificationBasis(models.TextChoices):
    POINTS = "points", _("Points earned")
    SPEND = "spend", _("Spend")


class Level(models.Model):
    """A tier. A member qualifies for the highest level whose threshold its points earned
    (or spend) over the last ``window_months`` reach; ``rank`` orders the levels."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=60)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True)
    basis = models.CharField(
        _("qualifies by"),
        max_length=8,
        choices=QualificationBasis.choices,
        default=QualificationBasis.POINTS,
        db_default=QualificationBasis.POINTS,
    )
    threshold = models.DecimalField(
        _("threshold"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        db_default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Points earned, or spend, over the window that reaches this level."),
    )
    window_months = models.PositiveSmallIntegerField(
        _("window (months)"), default=12, db_default=12
    )
    multiplier = models.DecimalField(
        _("earning multiplier"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.00"),
        db_default=Decimal("1.00"),
    )
    benefits = models.TextField(_("benefits"), blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("level")
        verbose_name_plural = _("levels")
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(condition=Q(multiplier__gt=0), name="level_multiplier_positive"),
            models.CheckConstraint(condition=Q(window_months__gte=1), name="level_window_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class ProgramSettings(models.Model):
    """The programme's one row of settings (``ProgramSettings.current()``)."""

    adjustment_approval_threshold = models.PositiveIntegerField(
        _("adjustments needing a second approver (points)"),
        default=1000,
        db_default=1000,
        help_text=_(
            "A manual adjustment of more points than this (either way) waits for a "
            "second person's approval."
        ),
    )
    downgrade_grace_days = models.PositiveIntegerField(
        _("downgrade grace period (days)"),
        default=90,
        db_default=90,
        help_text=_(
            "A level reached is kept at least this long before an evaluation may lower it."
        ),
    )

    class Meta:
        verbose_name = _("programme settings")
        verbose_name_plural = _("programme settings")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="program_settings_single")]

    def __str__(self) -> str:
        return str(_("Programme settings"))

    @classmethod
    def current(cls) -> ProgramSettings:
        found, _created = cls.objects.get_or_create(pk=1)
        return found


class PointValue(models.Model):
    """What one point is worth in money from ``valid_from`` on: settlement between units and
    the liability are valued with the value in force on the day."""

    valid_from = models.DateField(_("valid from"), unique=True)
    value = models.DecimalField(
        _("value of one point"),
        max_digits=10,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY", db_default="CNY")

    class Meta:
        verbose_name = _("point value")
        verbose_name_plural = _("point values")
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="point_value_positive")
        ]

    def __str__(self) -> str:
        return f"{self.valid_from}: {self.value} {self.currency}"

    @classmethod
    def on(cls, day: date | None = None) -> Decimal:
        """The value of a point on ``day`` (today by default); 0 when none is configured."""
        day = day or timezone.localdate()
        found = cls.objects.filter(valid_from__lte=day).values_list("value", flat=True).first()
        return found if found is not None else Decimal("0")


class Rounding(models.TextChoices):
    DOWN = "down", _("Round down")
    HALF_UP = "half_up", _("Round half up")
    UP = "up", _("Round up")


class EarningRule(models.Model):
    """How a unit's purchases earn points. Points funded by a unit are that unit's liability
    until redeemed (anywhere) or expired."""

    scope_field: ClassVar[str] = "business_unit"

    business_unit = models.OneToOneField(
        "crm.BusinessUnit",
        on_delete=models.PROTECT,
        related_name="earning_rule",
        verbose_name=_("business unit"),
    )
    is_active = models.BooleanField(_("active"), default=True, db_default=True)
    points_per_unit = models.DecimalField(
        _("points per currency unit"),
        max_digits=8,
        decimal_places=4,
        default=Decimal("1"),
        db_default=Decimal("1"),
        help_text=_("E.g. 1 = one point per yuan spent, 0.1 = one point per ten yuan."),
    )
    rounding = models.CharField(
        _("rounding"),
        max_length=8,
        choices=Rounding.choices,
        default=Rounding.DOWN,
        db_default=Rounding.DOWN,
    )
    cap_per_transaction = models.PositiveIntegerField(
        _("cap per transaction"), null=True, blank=True, help_text=_("Empty: no cap.")
    )
    cap_per_day = models.PositiveIntegerField(
        _("cap per member and day"), null=True, blank=True, help_text=_("Empty: no cap.")
    )
    validity_months = models.PositiveSmallIntegerField(
        _("points valid for (months)"), default=24, db_default=24
    )
    enrolment_bonus = models.PositiveIntegerField(
        _("enrolment bonus"),
        default=0,
        db_default=0,
        help_text=_("Points for joining the programme in this unit."),
    )
    birthday_multiplier = models.DecimalField(
        _("birthday-month multiplier"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.00"),
        db_default=Decimal("1.00"),
        help_text=_("Purchases in the member's birthday month earn this many times more."),
    )
    first_purchase_bonus = models.PositiveIntegerField(
        _("first purchase in this unit bonus"),
        default=0,
        db_default=0,
        help_text=_("Points for a member's first purchase in this unit (cross-selling)."),
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, db_default=Now())

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        ordering = ["business_unit__code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(points_per_unit__gte=0), name="earning_rule_rate_positive"
            ),
            models.CheckConstraint(
                condition=Q(birthday_multiplier__gte=1), name="earning_rule_birthday_at_least_one"
            ),
            models.CheckConstraint(
                condition=Q(validity_months__gte=1), name="earning_rule_validity_positive"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Earning rule of %(unit)s") % {"unit": self.business_unit_id})
