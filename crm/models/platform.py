"""Platform models: users, business units, partner API keys, idempotency keys (jobs:
``crm.models.jobs``).

The customer master (customers, identities, transactions, timeline) joins them in its own
issue; every app's rows that belong to a unit point to ``BusinessUnit``.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.policy import ScopedQuerySet
from crm.roles import role_label


class Industry(models.TextChoices):
    AUTOMOTIVE = "automotive", _("Car dealership")
    PROPERTY = "property", _("Property management")
    RETAIL = "retail", _("Supermarket / retail")
    LOGISTICS = "logistics", _("Logistics")
    OTHER = "other", _("Other")


# Time zones offered for a unit (the zone naive times in its imported files are read in).
TIME_ZONE_CHOICES = [
    ("Asia/Shanghai", _("China (Asia/Shanghai)")),
    ("Asia/Hong_Kong", _("Hong Kong (Asia/Hong_Kong)")),
    ("Asia/Taipei", _("Taipei (Asia/Taipei)")),
    ("Asia/Singapore", _("Singapore (Asia/Singapore)")),
    ("Asia/Tokyo", _("Tokyo (Asia/Tokyo)")),
    ("Asia/Seoul", _("Seoul (Asia/Seoul)")),
    ("Asia/Dubai", _("Dubai (Asia/Dubai)")),
    ("Europe/London", _("London (Europe/London)")),
    ("Europe/Paris", _("Paris (Europe/Paris)")),
    ("Europe/Berlin", _("Berlin (Europe/Berlin)")),
    ("America/New_York", _("New York (America/New_York)")),
    ("America/Los_Angeles", _("Los Angeles (America/Los_Angeles)")),
    ("Australia/Sydney", _("Sydney (Australia/Sydney)")),
    ("UTC", _("UTC")),
]


class BusinessUnitQuerySet(ScopedQuerySet["BusinessUnit"]):
    def active(self) -> BusinessUnitQuerySet:
        return self.filter(is_active=True)


class BusinessUnit(models.Model):
    """A unit of the group. Users, pools, rules, coupons and transactions belong to one."""

    code = models.SlugField(
        _("code"),
        max_length=32,
        unique=True,
        help_text=_("Short stable code used in reports and the API, e.g. AUTO, PROP."),
    )
    name = models.CharField(_("name"), max_length=100)
    industry = models.CharField(
        _("industry"), max_length=20, choices=Industry.choices, default=Industry.OTHER
    )
    is_active = models.BooleanField(_("active"), default=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        choices=TIME_ZONE_CHOICES,
        default="Asia/Shanghai",
        db_default="Asia/Shanghai",
        help_text=_("Times without a zone in this unit's imported files are read in this zone."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    scope_field: ClassVar[str] = "id"
    objects = BusinessUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("business unit")
        verbose_name_plural = _("business units")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(Upper("code"), name="business_unit_code_ci_unique"),
            models.CheckConstraint(
                condition=Q(code=Upper("code")), name="business_unit_code_upper"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @staticmethod
    def normalize_code(code: str) -> str:
        """Codes are stored upper-case (``auto`` and ``AUTO`` are one unit)."""
        return code.strip().upper()


class CrmUserManager(UserManager.from_queryset(ScopedQuerySet)):  # type: ignore[misc]
    pass


class User(AbstractUser):
    """A person working in the CRM: belongs to one or more business units, has roles."""

    scope_field: ClassVar[str] = "business_units"
    scope_many: ClassVar[bool] = True  # a user in two visible units is listed once

    business_units = models.ManyToManyField(
        BusinessUnit,
        related_name="users",
        blank=True,
        verbose_name=_("business units"),
    )
    language = models.CharField(
        _("interface language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        help_text=_("Empty: the language chosen on the sign-in page or the browser's."),
    )

    objects: ClassVar[CrmUserManager] = CrmUserManager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def get_full_name(self) -> str:
        """Chinese names read family name first, without a space (张建国); others as usual."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
            return f"{last}{first}"
        return super().get_full_name()

    def role_names(self) -> frozenset[str]:
        """Names of the user's role groups, read once per request (the user is per request)."""
        cached = self.__dict__.get("_role_names")
        if cached is None:
            from crm.auth_backends import load_permissions

            # With the permissions, in one query (an active user who is not a superuser).
            load_permissions(self)
            cached = self.__dict__.get("_role_names")
        if cached is None:
            from crm.auth_backends import load_roles

            # A superuser's (no permission query): with the unread notifications, in one.
            load_roles(self)
            cached = self.__dict__["_role_names"]
        return cached


class Role(Group):
    """A role as the admin names it: Django's group, whose name is the role's stable code
    (``crm.roles``), under the name staff use (角色, not 组). No table of its own."""

    class Meta:
        proxy = True
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        """The role's name in the current language (breadcrumbs, messages, history)."""
        return role_label(self.name)


class ApiKeyQuerySet(ScopedQuerySet["ApiKey"]):
    def usable(self, now: Any = None) -> ApiKeyQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """A partner's key: belongs to one business unit, carries scopes, is stored hashed.

    The full key (``crm_<prefix>_<secret>``) is shown once when it is issued; only the prefix
    (to find the row) and a SHA-256 of the whole key are kept.
    """

    name = models.CharField(
        _("name"), max_length=100, help_text=_("Who uses it, e.g. 'Store POS'.")
    )
    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        related_name="api_keys",
        verbose_name=_("business unit"),
    )
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    scopes = ArrayField(models.CharField(max_length=40), default=list, verbose_name=_("scopes"))
    rate = models.CharField(
        _("rate limit"),
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^\d+/(s|sec|m|min|h|hour|d|day)$")],
        help_text=_("Requests per period, e.g. 600/min. Empty: the default rate."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(scopes__len__gt=0), name="api_key_has_scopes"),
            models.CheckConstraint(
                condition=Q(revoked_by__isnull=True) | Q(revoked_at__isnull=False),
                name="api_key_revoked_by_needs_revoked_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    def is_expired(self, now: Any = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotencyKey(models.Model):
    """A POST's stored response, replayed when the same caller sends the same key again."""

    owner = models.CharField(_("caller"), max_length=64, help_text=_("user:<id> or api_key:<id>"))
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    status_code = models.PositiveSmallIntegerField(_("status code"))
    response_body = models.JSONField(_("response body"), null=True)
    response_headers = models.JSONField(_("response headers"), default=dict)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"


class RateCounter(models.Model):
    """Requests counted per caller and window for the API throttle: one atomic upsert per
    request (``crm.api.throttling``); expired rows are reset in place or purged."""

    key = models.CharField(_("key"), max_length=200, primary_key=True)
    hits = models.PositiveIntegerField(_("hits"), db_default=1)
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        verbose_name = _("rate counter")
        verbose_name_plural = _("rate counters")

    def __str__(self) -> str:
        return f"{self.key}: {self.hits}"


# Jobs live in crm.models.jobs; kept importable from here (crm.models imports them from here).
from crm.models.jobs import FINISHED_JOB_STATUSES, Job, JobQuerySet, JobStatus  # noqa: E402

__all__ = [
    "FINISHED_JOB_STATUSES",
    "ApiKey",
    "ApiKeyQuerySet",
    "BusinessUnit",
    "BusinessUnitQuerySet",
    "CrmUserManager",
    "IdempotencyKey",
    "Industry",
    "Job",
    "JobQuerySet",
    "JobStatus",
    "RateCounter",
    "User",
]
