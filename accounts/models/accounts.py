"""Accounts (one per organization customer) and the relations between them."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from crm.policy import ScopedQuerySet


class Industry(models.TextChoices):
    """GB/T 4754-2017 top-level sections (门类)."""

    A = "A", _("Agriculture, forestry, animal husbandry and fishery")
    B = "B", _("Mining")
    C = "C", _("Manufacturing")
    D = "D", _("Electricity, heat, gas and water production and supply")
    E = "E", _("Construction")
    F = "F", _("Wholesale and retail trade")
    G = "G", _("Transport, storage and postal services")
    H = "H", _("Accommodation and catering")
    I = "I", _("Information transmission, software and IT services")  # noqa: E741
    J = "J", _("Finance")
    K = "K", _("Real estate")
    L = "L", _("Leasing and business services")
    M = "M", _("Scientific research and technical services")
    N = "N", _("Water conservancy, environment and public facilities management")
    O = "O", _("Resident services, repair and other services")  # noqa: E741
    P = "P", _("Education")
    Q = "Q", _("Health and social work")
    R = "R", _("Culture, sports and entertainment")
    S = "S", _("Public administration, social security and social organizations")
    T = "T", _("International organizations")


class SizeBand(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    MICRO = "micro", _("Micro (under 10 staff)")
    SMALL = "small", _("Small (10–99 staff)")
    MEDIUM = "medium", _("Medium (100–999 staff)")
    LARGE = "large", _("Large (1,000+ staff)")


class AccountStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    DORMANT = "dormant", _("Dormant")
    CLOSED = "closed", _("Closed")


class AccountQuerySet(ScopedQuerySet["Account"]):
    def with_customer(self) -> AccountQuerySet:
        return self.select_related("customer", "owner", "parent__customer")


class Account(models.Model):
    """A company the group sells to. Its name and identities (USCC) stay on the customer."""

    scope_field: ClassVar[str] = "business_units"
    scope_many: ClassVar[bool] = True

    customer = models.OneToOneField(
        "crm.Customer",
        on_delete=models.PROTECT,
        related_name="account",
        verbose_name=_("customer"),
    )
    industry = models.CharField(
        _("industry"), max_length=1, choices=Industry.choices, blank=True, db_default=""
    )
    size_band = models.CharField(
        _("size"),
        max_length=10,
        choices=SizeBand.choices,
        blank=True,
        default=SizeBand.UNKNOWN,
        db_default=SizeBand.UNKNOWN,
    )
    province = models.CharField(_("province"), max_length=40, blank=True, db_default="")
    city = models.CharField(_("city"), max_length=40, blank=True, db_default="")
    address = models.CharField(_("address"), max_length=300, blank=True, db_default="")
    website = models.URLField(_("website"), max_length=200, blank=True, db_default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_accounts",
        verbose_name=_("owner"),
    )
    business_units = models.ManyToManyField(
        "crm.BusinessUnit",
        related_name="accounts",
        blank=True,
        verbose_name=_("business units"),
        help_text=_("The units that deal with this account; their staff see it."),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=AccountStatus.choices,
        default=AccountStatus.PROSPECT,
        db_default=AccountStatus.PROSPECT,
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subsidiaries",
        verbose_name=_("parent account"),
        help_text=_("The group this company belongs to."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_default=Now())

    objects = AccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["-id"]
        permissions = [("assign_account_owner", _("Can assign account owners"))]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=F("id")), name="accounts_account_not_own_parent"
            )
        ]
        indexes = [
            models.Index(fields=["status"], name="accounts_account_status"),
            models.Index(fields=["industry"], name="accounts_account_industry"),
            models.Index(fields=["province", "city"], name="accounts_account_region"),
        ]

    def __str__(self) -> str:
        return self.customer.display_name if self.customer_id else str(_("New account"))

    @property
    def name(self) -> str:
        return self.customer.display_name


class RelationKind(models.TextChoices):
    SUPPLIER = "supplier", _("Supplier of")
    DISTRIBUTOR = "distributor", _("Distributor of")
    PARTNER = "partner", _("Partner of")
    COMPETITOR = "competitor", _("Competitor of")


class AccountRelation(models.Model):
    """``from_account`` is <kind> ``to_account`` (A is supplier of B) between two dates."""

    from_account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="relations_from", verbose_name=_("account")
    )
    kind = models.CharField(_("relation"), max_length=12, choices=RelationKind.choices)
    to_account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        related_name="relations_to",
        verbose_name=_("related account"),
    )
    valid_from = models.DateField(_("from"), null=True, blank=True)
    valid_to = models.DateField(_("to"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True, db_default="")

    class Meta:
        verbose_name = _("account relation")
        verbose_name_plural = _("account relations")
        ordering = ["from_account_id", "kind", "to_account_id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_account=F("to_account")), name="accounts_relation_not_self"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_to__gte=F("valid_from")),
                name="accounts_relation_dates_ordered",
            ),
            models.UniqueConstraint(
                fields=["from_account", "kind", "to_account"], name="accounts_relation_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_account} — {self.get_kind_display()} — {self.to_account}"
