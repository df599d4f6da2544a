"""The customer master: customers, their identities, transactions, timeline, consents, tags,
duplicate candidates and merges. Every app points here; nothing here points to an app.

Customers are the group's one master: every member of staff who may view customers sees all
of them (that is the point of a group CRM); what is scoped to business units is the detail
that belongs to a unit (transactions, timeline events).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.platform import BusinessUnit
from crm.normalizers import PERSONAL_IDENTITY_TYPES


def staff_member(verbose_name: Any, *, db_index: bool = True) -> models.ForeignKey[Any, Any]:
    """Who did it: a user, kept as empty history when the user is deleted. ``db_index=False``
    where the model indexes it itself (a partial index on the rows that have one)."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=verbose_name,
        db_index=db_index,
    )


class NameGrams(Func):
    """``crm_name_grams(name)``: the name's single characters and character pairs.

    pg_trgm cannot index a two-character Chinese fragment (王伟); a GIN on this array can.
    The SQL function is created by migration 0003 and is IMMUTABLE, so the column is a
    generated column that COPY, bulk inserts and updates all keep right.
    """

    function = "crm_name_grams"
    output_field = ArrayField(models.TextField())


class PhoneNational(Func):
    """``crm_phone_national(value)``: an E.164 number without ``+`` and its country code
    (``+8613800138000`` → ``13800138000``, ``+14155552671`` → ``4155552671``), what a
    person types as "the number". Digit fragments are searched in it, so that ``8613`` does
    not match every ``+8613…`` mobile. Anything not starting with ``+`` (a USCC, an external
    id) is returned as it is. The SQL function (migration 0024) is IMMUTABLE: the partial
    trigram indexes ``identity_phone_national_trgm`` (phones, external ids) and
    ``identity_uscc_trgm`` are built on it, and whole-table statistics of it (PostgreSQL
    ignores a partial index's own) estimate a fragment's matches."""

    function = "crm_phone_national"
    output_field = models.CharField()


class CustomerKind(models.TextChoices):
    PERSON = "person", _("Person")
    ORGANIZATION = "organization", _("Organization")


class Gender(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class CustomerQuerySet(models.QuerySet["Customer"]):
    def live(self) -> CustomerQuerySet:
        """Customers that are not tombstones of a merge."""
        return self.filter(merged_into__isnull=True)

    def visible_to(self, user: Any) -> CustomerQuerySet:
        """The master is group-wide: whoever may view customers sees them all."""
        if getattr(user, "api_key", None) is not None:
            return self.filter(transactions__business_unit=user.api_key.business_unit_id).distinct()
        return self.all() if getattr(user, "is_authenticated", False) else self.none()


class Customer(models.Model):
    """One real party, a person or an organization."""

    kind = models.CharField(
        _("kind"),
        max_length=12,
        choices=CustomerKind.choices,
        default=CustomerKind.PERSON,
        db_default=CustomerKind.PERSON,
    )
    display_name = models.CharField(_("name"), max_length=200)
    name_is_generated = models.BooleanField(
        _("name generated"),
        default=False,
        db_default=False,
        help_text=_("The name is a masked identity until a record brings the real name."),
    )
    name_grams = models.GeneratedField(
        expression=NameGrams(F("display_name")),
        output_field=ArrayField(models.TextField()),
        db_persist=True,
        editable=False,
    )
    gender = models.CharField(
        _("gender"),
        max_length=6,
        choices=Gender.choices,
        default=Gender.UNKNOWN,
        db_default=Gender.UNKNOWN,
        blank=True,
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True, db_default="")
    registered_name = models.CharField(
        _("registered name"),
        max_length=200,
        blank=True,
        db_default="",
        help_text=_("Organizations: the name on the business licence."),
    )
    source = models.CharField(
        _("first source"),
        max_length=40,
        blank=True,
        db_default="",
        help_text=_("Where it was first seen."),
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        verbose_name=_("merged into"),
    )
    merged_at = models.DateTimeField(_("merged at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-id"]
        permissions = [
            ("reveal_customer_pii", _("Can reveal full phone numbers and e-mails")),
            ("merge_customer", _("Can merge customers")),
        ]
        indexes = [
            # fastupdate off: a search never scans a pending list that ingestion filled.
            GinIndex(
                OpClass("display_name", name="gin_trgm_ops"),
                name="customer_name_trgm",
                fastupdate=False,
            ),
            GinIndex(fields=["name_grams"], name="customer_name_grams", fastupdate=False),
            models.Index(
                F("id").desc(), condition=Q(merged_into__isnull=True), name="customer_live_id"
            ),
            # Sorted by name, generated names (a masked identity) after the real ones in
            # both directions: one index per direction.
            models.Index(
                "name_is_generated",
                "display_name",
                "id",
                condition=Q(merged_into__isnull=True),
                name="customer_live_name_asc",
            ),
            models.Index(
                "name_is_generated",
                F("display_name").desc(),
                F("id").desc(),
                condition=Q(merged_into__isnull=True),
                name="customer_live_name_desc",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(merged_into=F("id")), name="customer_not_merged_into_itself"
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | Q(merged_at__isnull=False),
                name="customer_merged_has_time",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=CustomerKind.values), name="customer_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        # What the admin and every generic display print: never a generated name as a name.
        return str(self.shown_name)

    @property
    def shown_name(self) -> str:
        """The name as plain text: a generated name (a masked identity) reads as a
        placeholder, never as a real name (templates style it: ``{% customer_name %}``)."""
        if self.name_is_generated:
            from crm.models.sources import readable_identity

            identity = readable_identity(self.display_name)
            return _("Unnamed customer (%(identity)s)") % {"identity": identity}
        return self.display_name

    @property
    def number(self) -> str:
        """The customer number staff read and say (``#1024``), the same on every screen."""
        return f"#{self.pk}"

    @property
    def is_tombstone(self) -> bool:
        return self.merged_into_id is not None

    @property
    def is_person(self) -> bool:
        return self.kind == CustomerKind.PERSON


class IdentityType(models.TextChoices):
    MOBILE = "mobile", _("Phone")
    EMAIL = "email", _("E-mail")
    WECHAT_UNIONID = "wechat_unionid", _("WeChat unionid")
    WECHAT_OPENID = "wechat_openid", _("WeChat openid")
    USCC = "uscc", _("Unified social credit code")
    EXTERNAL = "external", _("External id")


# Which identity decides when two customers claim one record: the strongest first.
IDENTITY_STRENGTH = {
    IdentityType.USCC: 6,
    IdentityType.MOBILE: 5,
    IdentityType.WECHAT_UNIONID: 4,
    IdentityType.EMAIL: 3,
    IdentityType.EXTERNAL: 2,
    IdentityType.WECHAT_OPENID: 1,
}
# Personal identity types: masked unless revealed (the rule and its reasons: crm.normalizers).
PII_IDENTITY_TYPES = frozenset(IdentityType(t) for t in PERSONAL_IDENTITY_TYPES)


class Identity(models.Model):
    """A normalized identifier; ``(type, value)`` belongs to at most one customer."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="identities", verbose_name=_("customer")
    )
    type = models.CharField(_("type"), max_length=20, choices=IdentityType.choices)
    value = models.CharField(_("value"), max_length=200)
    verified = models.BooleanField(_("verified"), default=False, db_default=False)
    source = models.CharField(_("source"), max_length=40, blank=True, db_default="")
    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
        help_text=_(
            "The business unit whose record supplied it; a partner key reads only its own "
            "unit's identities. Empty: staff or the group."
        ),
        db_index=False,  # read per customer (identity_customer_type); units are never deleted
    )
    created_at = models.DateTimeField(_("added"), default=timezone.now, db_default=Now())

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        ordering = ["type", "id"]
        constraints = [
            models.UniqueConstraint(fields=["type", "value"], name="identity_type_value_unique"),
            models.CheckConstraint(
                condition=Q(type__in=IdentityType.values), name="identity_type_valid"
            ),
            models.CheckConstraint(condition=~Q(value=""), name="identity_value_not_empty"),
        ]
        indexes = [
            GinIndex(
                OpClass("value", name="gin_trgm_ops"), name="identity_value_trgm", fastupdate=False
            ),
            # Digit fragments (migration 0024): a phone's national number, a USCC or an
            # external id (the function leaves them as they are).
            GinIndex(
                OpClass(PhoneNational("value"), name="gin_trgm_ops"),
                name="identity_phone_national_trgm",
                condition=Q(type__in=["mobile", "external"]),
                fastupdate=False,
            ),
            # USCCs apart: one index for both made the planner AND it with all 250,000 USCCs.
            GinIndex(
                OpClass(PhoneNational("value"), name="gin_trgm_ops"),
                name="identity_uscc_trgm",
                condition=Q(type="uscc"),
                fastupdate=False,
            ),
            models.Index(fields=["customer", "type"], name="identity_customer_type"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.masked_value}"

    @property
    def is_pii(self) -> bool:
        """Personal: masked on every screen, the admin and the API unless revealed (audited)."""
        return self.type in PII_IDENTITY_TYPES

    @property
    def masked_value(self) -> str:
        """What anybody may be shown: the masked value when personal, else the value."""
        from crm.normalizers import mask_identity

        return mask_identity(self.type, self.value)
