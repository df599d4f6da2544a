"""Coupon templates (what a coupon is worth, who pays, where it is spent), issued coupons,
the per-customer counters, bulk issue runs and redemption reversals.

Coupons are money. The database holds the invariants, the services only keep to them:
- a template never issues more than its stock: ``issued_count <= stock`` (a conditional
  ``UPDATE`` in the services, this check as the backstop);
- no customer holds more than the per-customer limit: one counter row per (template,
  customer), ``issued <= allowed``, raised by a conditional ``UPDATE``;
- a code exists once; a unit's redemption reference names one redemption;
- a redeemed coupon carries where, when, for which order and what discount.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import BusinessUnit, Customer
from crm.policy import ScopedQuerySet

MONEY: dict[str, Any] = {"max_digits": 14, "decimal_places": 2}
REFERENCE_MAX = 120


class CouponKind(models.TextChoices):
    FIXED = "fixed", _("Fixed amount off")
    PERCENTAGE = "percentage", _("Percentage off, with a cap")
    FREE_SERVICE = "free_service", _("Free service")
    GIFT = "gift", _("Gift")


class CouponTemplate(models.Model):
    scope_field: ClassVar[str] = "business_unit"

    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        related_name="coupon_templates",
        verbose_name=_("issuing unit"),
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=CouponKind.choices)
    value = models.DecimalField(
        _("value"),
        **MONEY,
        help_text=_(
            "The amount off, the percentage off, or the value of the free service or gift."
        ),
    )
    cap = models.DecimalField(
        _("cap"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_("The largest discount of a percentage coupon."),
    )
    minimum_spend = models.DecimalField(
        _("minimum spend"), **MONEY, default=Decimal("0"), db_default=Decimal("0")
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY", db_default="CNY")
    funding_units: models.ManyToManyField[BusinessUnit, TemplateFunding] = models.ManyToManyField(
        BusinessUnit,
        through="TemplateFunding",
        related_name="funded_coupon_templates",
        verbose_name=_("funding units"),
    )
    redeemable_units = models.ManyToManyField(
        BusinessUnit,
        related_name="redeemable_coupon_templates",
        verbose_name=_("redeemable at"),
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    valid_days = models.PositiveIntegerField(_("valid for days after issue"), null=True, blank=True)
    stock = models.PositiveIntegerField(_("stock"))
    issued_count = models.PositiveIntegerField(_("issued"), default=0, db_default=0)
    per_customer_limit = models.PositiveIntegerField(
        _("per-customer limit"), default=1, db_default=1
    )
    points_price = models.PositiveIntegerField(
        _("price in points"),
        null=True,
        blank=True,
        help_text=_("Members may exchange this many points for one coupon; empty: not for sale."),
    )
    stackable = models.BooleanField(_("stackable"), default=False, db_default=False)
    terms = models.TextField(_("terms"), blank=True)
    reversible_on_refund = models.BooleanField(
        _("restored on refund"), default=True, db_default=True
    )
    reversal_window_days = models.PositiveIntegerField(
        _("refund window (days)"), default=30, db_default=30
    )
    is_active = models.BooleanField(_("active"), default=True, db_default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")
        ordering = ["-created_at", "-id"]
        permissions = [("issue_coupon", "Can issue coupons")]
        constraints = [
            models.CheckConstraint(
                condition=Q(issued_count__lte=F("stock")), name="template_issued_within_stock"
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="template_value_positive"),
            models.CheckConstraint(
                condition=~Q(kind=CouponKind.PERCENTAGE)
                | (Q(value__lte=100) & Q(cap__isnull=False) & Q(cap__gt=0)),
                name="template_percentage_capped",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=False) | Q(valid_days__isnull=False),
                name="template_validity_given",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=F("valid_from")),
                name="template_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(per_customer_limit__gte=1), name="template_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(minimum_spend__gte=0), name="template_minimum_spend_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def face_value(self) -> Decimal:
        """What one coupon is worth at most: the cap of a percentage coupon, else its value."""
        return self.cap if self.kind == CouponKind.PERCENTAGE and self.cap else self.value

    def validity_for(self, issued_at: datetime) -> tuple[datetime, datetime]:
        """``(valid_from, valid_until)`` of a coupon issued at ``issued_at``."""
        start = max(self.valid_from, issued_at) if self.valid_from else issued_at
        ends = [d for d in (self.valid_until,) if d is not None]
        if self.valid_days:
            ends.append(issued_at + timedelta(days=self.valid_days))
        return start, min(ends)

    def discount_for(self, order_amount: Decimal) -> Decimal:
        """The discount this coupon gives on an order of ``order_amount`` (minimum spend met)."""
        if self.kind == CouponKind.FIXED:
            return min(self.value, order_amount)
        if self.kind == CouponKind.PERCENTAGE:
            raw = (order_amount * self.value / 100).quantize(Decimal("0.01"))
            return min(raw, self.cap or raw)
        return self.value  # a free service or a gift is worth its value whatever the order


class TemplateFunding(models.Model):
    """A unit paying ``share`` percent of what the template's coupons are worth."""

    template = models.ForeignKey(
        CouponTemplate,
        on_delete=models.CASCADE,
        related_name="fundings",
        verbose_name=_("template"),
    )
    business_unit = models.ForeignKey(
        BusinessUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("funding unit")
    )
    share = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("funding share")
        verbose_name_plural = _("funding shares")
        ordering = ["template", "-share", "business_unit"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "business_unit"], name="template_funding_once_per_unit"
            ),
            models.CheckConstraint(
                condition=Q(share__gt=0) & Q(share__lte=100), name="template_funding_share_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.business_unit_id}: {self.share} %"


class CouponHolding(models.Model):
    """How many coupons of a template a customer has received: the per-customer limit's
    counter, raised only by ``UPDATE … SET issued = issued + n WHERE issued + n <= limit``.
    ``allowed`` is the limit when the row was made; a merge adds both customers' counts and
    raises ``allowed`` to what they already hold (no more is issued to the survivor)."""

    template = models.ForeignKey(
        CouponTemplate, on_delete=models.CASCADE, related_name="+", verbose_name=_("template")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer")
    )
    issued = models.PositiveIntegerField(_("issued"), default=0, db_default=0)
    allowed = models.PositiveIntegerField(_("allowed"))

    class Meta:
        verbose_name = _("coupon holding")
        verbose_name_plural = _("coupon holdings")
        constraints = [
            models.UniqueConstraint(
                fields=["template", "customer"], name="coupon_holding_one_per_customer"
            ),
            models.CheckConstraint(
                condition=Q(issued__lte=F("allowed")), name="coupon_holding_within_limit"
            ),
        ]
        indexes = [models.Index(fields=["customer"], name="coupon_holding_customer")]

    def __str__(self) -> str:
        return f"{self.template_id}/{self.customer_id}: {self.issued}/{self.allowed}"


class CouponStatus(models.TextChoices):
    # A coupon's own words (核销 for a redeemed coupon, where points are 兑换).
    ISSUED = "issued", pgettext_lazy("coupon status", "Issued")
    REDEEMED = "redeemed", pgettext_lazy("coupon status", "Redeemed")
    EXPIRED = "expired", pgettext_lazy("coupon status", "Expired")
    VOIDED = "voided", _("Voided")


class IssueSource(models.TextChoices):
    DESK = "desk", _("At the desk")
    BULK = "bulk", _("Bulk issue")
    POINTS = "points", _("Exchanged for points")
    TRIGGER = "trigger", _("Trigger rule")


class BulkIssueStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class BulkIssue(models.Model):
    """One bulk issue run to a list of customers. Its ``key`` is the run's idempotency key: a
    second run with the same key issues nothing anybody already received from it."""

    scope_field: ClassVar[str] = "template__business_unit"

    key = models.CharField(_("key"), max_length=80, unique=True)
    template = models.ForeignKey(
        CouponTemplate,
        verbose_name=_("template"),
        on_delete=models.PROTECT,
        related_name="bulk_issues",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    customer_ids = models.JSONField(_("customers"), default=list)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=BulkIssueStatus.choices,
        default=BulkIssueStatus.QUEUED,
        db_default=BulkIssueStatus.QUEUED,
    )
    requested = models.PositiveIntegerField(_("requested"), default=0, db_default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0, db_default=0)
    issued = models.PositiveIntegerField(_("issued"), default=0, db_default=0)
    skipped_limit = models.PositiveIntegerField(_("skipped: limit"), default=0, db_default=0)
    skipped_stock = models.PositiveIntegerField(_("skipped: stock"), default=0, db_default=0)
    skipped_blacklisted = models.PositiveIntegerField(
        _("skipped: blacklisted"), default=0, db_default=0
    )
    skipped_budget = models.PositiveIntegerField(
        _("skipped: campaign budget"), default=0, db_default=0
    )
    job = models.ForeignKey(
        "crm.Job",
        verbose_name=_("job"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("bulk issue")
        verbose_name_plural = _("bulk issues")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.key


class CouponQuerySet(ScopedQuerySet["Coupon"]):
    def live(self, now: datetime | None = None) -> CouponQuerySet:
        """Issued and not yet past their validity."""
        return self.filter(status=CouponStatus.ISSUED, valid_until__gt=now or timezone.now())


class Coupon(models.Model):
    scope_field: ClassVar[str] = "business_unit"

    code = models.CharField(_("code"), max_length=20, unique=True)
    template = models.ForeignKey(
        CouponTemplate, on_delete=models.PROTECT, related_name="coupons", verbose_name=_("template")
    )
    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("issuing unit"),
        db_index=False,
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="coupons",
        verbose_name=_("campaign"),
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="coupons", verbose_name=_("owner")
    )
    face_value = models.DecimalField(_("face value"), **MONEY)
    source = models.CharField(_("issued by"), max_length=10, choices=IssueSource.choices)
    source_reference = models.CharField(
        _("issue reference"), max_length=REFERENCE_MAX, blank=True, default="", db_default=""
    )
    bulk_issue = models.ForeignKey(
        BulkIssue,
        verbose_name=_("bulk issue"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="coupons",
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by (staff)"),
    )
    issued_at = models.DateTimeField(_("issued"), default=timezone.now, db_default=Now())
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CouponStatus.choices,
        default=CouponStatus.ISSUED,
        db_default=CouponStatus.ISSUED,
    )
    redeemed_business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("redeemed at"),
        db_index=False,
    )
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)
    redemption_reference = models.CharField(
        _("redemption reference"), max_length=REFERENCE_MAX, null=True, blank=True
    )
    order_amount = models.DecimalField(_("order amount"), **MONEY, null=True, blank=True)
    discount = models.DecimalField(_("discount"), **MONEY, null=True, blank=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("redeemed by"),
    )
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True)
    void_reason = models.CharField(_("void reason"), max_length=300, blank=True, default="")

    objects = CouponQuerySet.as_manager()

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-issued_at", "-id"]
        permissions = [
            ("redeem_coupon", "Can validate and redeem coupons"),
            ("void_coupon", "Can void coupons"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["redeemed_business_unit", "redemption_reference"],
                condition=Q(redemption_reference__isnull=False),
                name="coupon_redemption_reference_once",
            ),
            models.UniqueConstraint(
                fields=["bulk_issue", "customer"],
                condition=Q(bulk_issue__isnull=False),
                name="coupon_bulk_issue_once_per_customer",
            ),
            models.CheckConstraint(
                condition=~Q(status=CouponStatus.REDEEMED)
                | (
                    Q(redeemed_business_unit__isnull=False)
                    & Q(redeemed_at__isnull=False)
                    & Q(redemption_reference__isnull=False)
                    & Q(discount__isnull=False)
                ),
                name="coupon_redeemed_has_redemption",
            ),
            models.CheckConstraint(
                condition=Q(status=CouponStatus.REDEEMED) | Q(redemption_reference__isnull=True),
                name="coupon_reference_only_when_redeemed",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gt=F("valid_from")), name="coupon_validity_ordered"
            ),
            models.CheckConstraint(condition=Q(face_value__gte=0), name="coupon_face_positive"),
        ]
        indexes = [
            models.Index(fields=["customer", "status", "valid_until"], name="coupon_customer"),
            models.Index(fields=["template", "status"], name="coupon_template_status"),
            models.Index(
                fields=["status", "valid_until"],
                name="coupon_expiry_due",
                condition=Q(status=CouponStatus.ISSUED),
            ),
            models.Index(fields=["business_unit", "issued_at"], name="coupon_unit_issued"),
            models.Index(
                fields=["redeemed_business_unit", "redeemed_at"],
                name="coupon_redeemed_at",
                condition=Q(redeemed_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def is_live(self, now: datetime) -> bool:
        return self.status == CouponStatus.ISSUED and self.valid_from <= now < self.valid_until


class CouponReversal(models.Model):
    """A refund of an order that redeemed a coupon: what the redemption was, whether the
    coupon was given back to the customer, and why."""

    scope_field: ClassVar[str] = "business_unit"

    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, related_name="reversals", verbose_name=_("coupon")
    )
    business_unit = models.ForeignKey(
        BusinessUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    reference = models.CharField(_("refund reference"), max_length=REFERENCE_MAX)
    redemption_reference = models.CharField(_("redemption reference"), max_length=REFERENCE_MAX)
    redeemed_at = models.DateTimeField(_("redeemed"))
    order_amount = models.DecimalField(_("order amount"), **MONEY, null=True, blank=True)
    discount = models.DecimalField(_("discount"), **MONEY)
    restored = models.BooleanField(_("coupon restored"))
    reason = models.CharField(_("reason"), max_length=300, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("coupon reversal")
        verbose_name_plural = _("coupon reversals")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_unit", "reference"], name="coupon_reversal_reference_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["business_unit", "redemption_reference"], name="coupon_reversal_redeemed"
            )
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id}: {self.reference}"
