"""Lead pools: the public pool (公海) of a unit and its team pools, their members and rules."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from crm.policy import ScopedQuerySet


class PoolKind(models.TextChoices):
    PUBLIC = "public", _("Public pool")
    TEAM = "team", _("Team pool")


class AssignmentStrategy(models.TextChoices):
    CLAIM = "claim", _("Claim only")
    ROUND_ROBIN = "round_robin", _("Round-robin")
    LEAST_LOADED = "least_loaded", _("Least loaded")


class PoolRole(models.TextChoices):
    REP = "rep", _("Rep")
    MANAGER = "manager", _("Manager")


class LeadPoolQuerySet(ScopedQuerySet["LeadPool"]):
    def active(self) -> LeadPoolQuerySet:
        return self.filter(is_active=True)

    def public(self) -> LeadPoolQuerySet:
        return self.filter(kind=PoolKind.PUBLIC)


class LeadPool(models.Model):
    """A pool of a unit. Every unit has at most one public pool, where recycled leads go;
    team pools have members (reps) and managers. The hold limit counts the leads a rep holds
    in the whole unit, whichever pool they came from."""

    scope_field: ClassVar[str] = "business_unit"

    business_unit = models.ForeignKey(
        "crm.BusinessUnit",
        on_delete=models.PROTECT,
        related_name="lead_pools",
        verbose_name=_("business unit"),
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"),
        max_length=8,
        choices=PoolKind.choices,
        default=PoolKind.TEAM,
        db_default=PoolKind.TEAM,
    )
    is_active = models.BooleanField(_("active"), default=True, db_default=True)
    strategy = models.CharField(
        _("assignment on intake"),
        max_length=14,
        choices=AssignmentStrategy.choices,
        default=AssignmentStrategy.CLAIM,
        db_default=AssignmentStrategy.CLAIM,
    )
    hold_limit = models.PositiveIntegerField(
        _("hold limit"),
        default=50,
        db_default=50,
        help_text=_("The most leads a rep may hold in the unit (every pool counted)."),
    )
    daily_claim_quota = models.PositiveIntegerField(
        _("daily claim quota"),
        default=20,
        db_default=20,
        help_text=_("The most leads a rep may claim from this unit's pools per day."),
    )
    follow_up_days = models.PositiveIntegerField(
        _("days to first follow-up"),
        default=3,
        db_default=3,
        help_text=_("A claimed lead not followed up within this many days goes back."),
    )
    convert_days = models.PositiveIntegerField(
        _("days to convert"),
        default=30,
        db_default=30,
        help_text=_("A claimed lead not converted within this many days goes back."),
    )
    unclaimed_days = models.PositiveIntegerField(
        _("days unclaimed"),
        default=7,
        db_default=7,
        help_text=_(
            "A team pool's lead nobody claimed within this many days moves to the public pool."
        ),
    )
    warn_days = models.PositiveIntegerField(
        _("warning days"),
        default=1,
        db_default=1,
        help_text=_("The holder is warned this many days before a lead goes back."),
    )
    cooldown_days = models.PositiveIntegerField(
        _("re-claim cooldown days"),
        default=7,
        db_default=7,
        help_text=_("A rep cannot re-claim a lead recycled from them for this many days."),
    )
    round_robin_cursor = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    members: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="LeadPoolMember",
        related_name="lead_pools",
        blank=True,
        verbose_name=_("members"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_default=Now())

    objects = LeadPoolQuerySet.as_manager()

    class Meta:
        verbose_name = _("lead pool")
        verbose_name_plural = _("lead pools")
        ordering = ["business_unit_id", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_unit"],
                condition=Q(kind="public"),
                name="leads_one_public_pool_per_unit",
            ),
            models.UniqueConstraint(fields=["business_unit", "name"], name="leads_pool_name"),
            models.CheckConstraint(
                condition=Q(kind__in=["public", "team"]), name="leads_pool_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(hold_limit__gte=1) & Q(daily_claim_quota__gte=1),
                name="leads_pool_limits_positive",
            ),
            models.CheckConstraint(
                condition=Q(follow_up_days__gte=1)
                & Q(convert_days__gte=1)
                & Q(unclaimed_days__gte=1),
                name="leads_pool_recycle_days_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.kind == PoolKind.PUBLIC


class LeadPoolMember(models.Model):
    """A rep or manager of a pool. Everybody of the unit works the public pool."""

    pool = models.ForeignKey(
        LeadPool, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("pool")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="lead_pool_memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(
        _("role"),
        max_length=8,
        choices=PoolRole.choices,
        default=PoolRole.REP,
        db_default=PoolRole.REP,
    )

    class Meta:
        verbose_name = _("pool member")
        verbose_name_plural = _("pool members")
        ordering = ["pool_id", "role", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "user"], name="leads_pool_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.pool} — {self.user}"


class HoldLimit(models.Model):
    """A pool's hold limit and daily quota for one role (a crm role code: ``sales_rep``,
    ``sales_manager``), overriding the pool's own."""

    pool = models.ForeignKey(
        LeadPool, on_delete=models.CASCADE, related_name="hold_limits", verbose_name=_("pool")
    )
    role = models.CharField(_("role"), max_length=40)
    hold_limit = models.PositiveIntegerField(_("hold limit"))
    daily_claim_quota = models.PositiveIntegerField(_("daily claim quota"))

    class Meta:
        verbose_name = _("hold limit by role")
        verbose_name_plural = _("hold limits by role")
        ordering = ["pool_id", "role"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "role"], name="leads_hold_limit_once"),
            models.CheckConstraint(
                condition=Q(hold_limit__gte=1) & Q(daily_claim_quota__gte=1),
                name="leads_hold_limit_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pool} / {self.role}: {self.hold_limit}"


class RepHolding(models.Model):
    """One row per rep and unit: the lock every claim and assignment of that rep takes first
    (``SELECT … FOR UPDATE``), then the hold limit is checked by counting the rep's open
    leads under it, and the day's claims counted here. It is a lock and a quota counter, never
    a cached count of held leads (that one is always counted, so it cannot drift)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="lead_holdings",
        verbose_name=_("sales rep"),
    )
    business_unit = models.ForeignKey(
        "crm.BusinessUnit", on_delete=models.CASCADE, related_name="+", verbose_name=_("unit")
    )
    claims_on = models.DateField(_("claims counted on"), null=True, blank=True)
    claims_today = models.PositiveIntegerField(_("claims that day"), default=0, db_default=0)

    class Meta:
        verbose_name = _("rep holding")
        verbose_name_plural = _("rep holdings")
        constraints = [
            models.UniqueConstraint(fields=["user", "business_unit"], name="leads_holding_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.business_unit_id}"


class ChannelCost(models.Model):
    """Marketing's spend on one source/channel/campaign code in one month of one unit."""

    scope_field: ClassVar[str] = "business_unit"

    business_unit = models.ForeignKey(
        "crm.BusinessUnit",
        on_delete=models.PROTECT,
        related_name="lead_channel_costs",
        verbose_name=_("business unit"),
    )
    source = models.CharField(_("source"), max_length=12)
    channel = models.CharField(_("channel"), max_length=40, blank=True, db_default="", default="")
    campaign_code = models.CharField(
        _("campaign code"), max_length=40, blank=True, db_default="", default=""
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY", db_default="CNY")

    objects: Any = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("channel spend")
        verbose_name_plural = _("channel spend")
        ordering = ["-month", "source", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_unit", "source", "channel", "campaign_code", "month"],
                name="leads_channel_cost_once",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="leads_channel_cost_positive"),
            models.CheckConstraint(condition=Q(month__day=1), name="leads_channel_cost_month"),
        ]

    def __str__(self) -> str:
        return f"{self.source}/{self.channel}/{self.campaign_code} {self.month:%Y-%m}"
