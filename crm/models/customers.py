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
from crm.policy import ScopedQuerySet


def staff_member(verbose_name: Any) -> models.ForeignKey[Any, Any]:
    """Who did it: a user, kept as empty history when the user is deleted."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=verbose_name,
    )


class NameGrams(Func):
    """``crm_name_grams(name)``: the name's single characters and character pairs.

    pg_trgm cannot index a two-character Chinese fragment (王伟); a GIN on this array can.
    The SQL function is created by migration 0003 and is IMMUTABLE, so the column is a
    generated column that COPY, bulk inserts and updates all keep right.
    """

    function = "crm_name_grams"
    output_field = ArrayField(models.TextField())


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
            models.Index(
                "display_name",
                "id",
                condition=Q(merged_into__isnull=True),
                name="customer_live_name",
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
        return self.display_name

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


class Channel(models.TextChoices):
    STORE = "store", _("Store")
    ONLINE_MALL = "online_mall", _("Online mall")
    TMALL = "tmall", _("Tmall")
    JD = "jd", _("JD.com")
    WECHAT_MINI = "wechat_mini", _("WeChat mini-program")
    ERP = "erp", _("ERP")
    PHONE = "phone", _("Phone order")
    OTHER = "other", _("Other")


class TransactionKind(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    CANCELLATION = "cancellation", _("Cancellation / refund")


class TransactionStatus(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    PARTLY_REFUNDED = "partly_refunded", _("Partly refunded")
    REFUNDED = "refunded", _("Cancelled / refunded")


class TransactionQuerySet(ScopedQuerySet["Transaction"]):
    def purchases(self) -> TransactionQuerySet:
        return self.filter(kind=TransactionKind.PURCHASE)


class Transaction(models.Model):
    """An order from any source. A cancellation is its own row with a negative amount,
    linked to the original when it is known, so that the sum of amounts is the net spend."""

    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        related_name="transactions",
        verbose_name=_("business unit"),
        db_index=False,  # transaction_unit_recent leads with it
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transactions",
        verbose_name=_("customer"),
        help_text=_("Empty for a guest purchase."),
        db_index=False,  # transaction_customer_recent leads with it
    )
    source = models.CharField(_("source system"), max_length=40)
    external_id = models.CharField(_("external id"), max_length=100)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    kind = models.CharField(
        _("kind"),
        max_length=12,
        choices=TransactionKind.choices,
        default=TransactionKind.PURCHASE,
        db_default=TransactionKind.PURCHASE,
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=TransactionStatus.choices,
        default=TransactionStatus.COMPLETED,
        db_default=TransactionStatus.COMPLETED,
    )
    original = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cancellations",
        verbose_name=_("original transaction"),
        db_index=False,  # transaction_original: partial, only cancellations have one
    )
    occurred_at = models.DateTimeField(_("occurred"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY", db_default="CNY")
    lines = models.JSONField(_("lines"), default=list, db_default=[], blank=True)
    ingested_at = models.DateTimeField(_("ingested"), default=timezone.now, db_default=Now())

    objects = TransactionQuerySet.as_manager()

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="transaction_source_external_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind="purchase", amount__gte=0) | Q(kind="cancellation", amount__lte=0),
                name="transaction_amount_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(original__isnull=True) | Q(kind="cancellation"),
                name="transaction_only_cancellations_link_original",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="transaction_currency_iso"
            ),
        ]
        indexes = [
            models.Index(
                "customer",
                F("occurred_at").desc(),
                F("id").desc(),
                name="transaction_customer_recent",
            ),
            # Covering: the 360 view's per-unit totals are an index-only scan.
            models.Index(
                fields=["customer", "business_unit"],
                include=["occurred_at", "amount", "kind", "currency"],
                name="transaction_customer_unit",
                condition=Q(customer__isnull=False),
            ),
            models.Index(
                fields=["original"],
                name="transaction_original",
                condition=Q(original__isnull=False),
            ),
            models.Index(fields=["business_unit", "-occurred_at"], name="transaction_unit_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class TimelineEventQuerySet(ScopedQuerySet["TimelineEvent"]):
    def visible_to(self, user: Any) -> TimelineEventQuerySet:
        """Group-wide events (no unit) and events of the user's units."""
        from crm.policy import visible_unit_ids

        unit_ids = visible_unit_ids(user)
        if unit_ids is None:
            return self.all()
        return self.filter(Q(business_unit__isnull=True) | Q(business_unit__in=unit_ids))


class TimelineEvent(models.Model):
    """Anything that happened with a customer. Every app writes here through
    ``crm.services.record_event`` in the same transaction as the change it records."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="events", verbose_name=_("customer")
    )
    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business unit"),
    )
    type = models.CharField(_("type"), max_length=50)
    actor = staff_member(_("actor"))
    occurred_at = models.DateTimeField(_("occurred"), default=timezone.now, db_default=Now())
    summary = models.CharField(_("summary"), max_length=300)
    data = models.JSONField(_("data"), default=dict, db_default={}, blank=True)

    objects = TimelineEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                "customer", F("occurred_at").desc(), F("id").desc(), name="event_customer_recent"
            ),
            models.Index(fields=["customer", "type"], name="event_customer_type"),
        ]

    def __str__(self) -> str:
        return self.summary


class ConsentChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    WECHAT = "wechat", _("WeChat")
    PHONE = "phone", _("Phone call")


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service")


class Consent(models.Model):
    """One grant or withdrawal. Rows are never changed: the latest per channel and purpose is
    the current state, the rest is the history."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="consents", verbose_name=_("customer")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ConsentChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    source = models.CharField(_("source"), max_length=60)
    actor = staff_member(_("recorded by"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                "customer",
                "channel",
                "purpose",
                F("occurred_at").desc(),
                F("id").desc(),
                name="consent_current",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=ConsentChannel.values), name="consent_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=ConsentPurpose.values), name="consent_purpose_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose}: {'+' if self.granted else '-'}"


class TagCategory(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)
    color = models.CharField(
        _("colour"),
        max_length=20,
        default="blue",
        help_text=_("A Tabler colour name: blue, green, orange, red, purple..."),
    )

    class Meta:
        verbose_name = _("tag category")
        verbose_name_plural = _("tag categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    category = models.ForeignKey(
        TagCategory, on_delete=models.PROTECT, related_name="tags", verbose_name=_("category")
    )
    name = models.CharField(_("name"), max_length=60)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["category__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["category", "name"], name="tag_category_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.category.name}: {self.name}" if self.category_id else self.name


class CustomerTag(models.Model):
    """A tag on a customer: who (or which rule) set it, and when."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="tag_links", verbose_name=_("customer")
    )
    tag = models.ForeignKey(
        Tag, on_delete=models.CASCADE, related_name="customer_links", verbose_name=_("tag")
    )
    set_by = staff_member(_("set by"))
    rule = models.CharField(_("set by rule"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("set"), default=timezone.now)

    class Meta:
        verbose_name = _("customer tag")
        verbose_name_plural = _("customer tags")
        constraints = [
            models.UniqueConstraint(fields=["customer", "tag"], name="customer_tag_unique")
        ]
        indexes = [models.Index(fields=["tag", "customer"], name="customer_tag_by_tag")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.tag}"


class DuplicateReason(models.TextChoices):
    SHARED_IDENTITY = "shared_identity", _("Identities of one record belong to both")
    NAME_PHONE_SUFFIX = "name_phone_suffix", _("Same name and same phone ending")
    EMAIL_LOCAL_NAME = "email_local_name", _("Same e-mail name and a similar name")
    MANUAL = "manual", _("Reported by staff")


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("To review")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not a duplicate")


class DuplicateCandidateQuerySet(models.QuerySet["DuplicateCandidate"]):
    def open(self) -> DuplicateCandidateQuerySet:
        return self.filter(status=DuplicateStatus.OPEN)


class DuplicateCandidate(models.Model):
    """Two customers that may be one person or company, waiting for staff to decide."""

    customer_a = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer A")
    )
    customer_b = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer B")
    )
    reason = models.CharField(_("reason"), max_length=20, choices=DuplicateReason.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), default=50)
    status = models.CharField(
        _("status"), max_length=10, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    created_at = models.DateTimeField(_("found"), default=timezone.now)
    reviewed_by = staff_member(_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)

    objects = DuplicateCandidateQuerySet.as_manager()

    class Meta:
        verbose_name = _("duplicate candidate")
        verbose_name_plural = _("duplicate candidates")
        ordering = ["-score", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(customer_a__lt=F("customer_b")), name="duplicate_pair_ordered"
            ),
            models.UniqueConstraint(
                fields=["customer_a", "customer_b"], name="duplicate_pair_unique"
            ),
        ]
        indexes = [
            models.Index(
                F("score").desc(),
                F("id").desc(),
                condition=Q(status="open"),
                name="duplicate_open_queue",
            ),
            models.Index(fields=["customer_b"], name="duplicate_customer_b"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_a_id} ~ {self.customer_b_id}"


class Merge(models.Model):
    """A merge that happened: who, when, why, and what moved."""

    survivor = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="merges", verbose_name=_("survivor")
    )
    loser = models.OneToOneField(
        Customer,
        on_delete=models.PROTECT,
        related_name="merge_record",
        verbose_name=_("merged customer"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("merged by"),
    )
    reason = models.CharField(_("reason"), max_length=300)
    summary = models.JSONField(_("what moved"), default=dict)
    loser_snapshot = models.JSONField(_("merged customer's details"), default=dict)
    created_at = models.DateTimeField(_("merged at"), default=timezone.now)

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(survivor=F("loser")), name="merge_not_self")
        ]

    def __str__(self) -> str:
        return f"{self.loser_id} → {self.survivor_id}"


class PiiAccess(models.Model):
    """Audit: somebody revealed a customer's full identities, or searched fragments of
    personal identities (``identity_type`` ``search:<kind>``, one row per customer listed,
    one without a customer when nothing matched). The term searched is never stored in clear:
    ``search`` holds its keyed digest (``services.pii_search_digest``), so an auditor can check
    whether a given term was searched, and a reader of this table cannot read the terms."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("user"),
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer"),
    )
    identity_type = models.CharField(_("identity type"), max_length=20)
    search = models.CharField(
        _("search (digest)"),
        max_length=64,
        blank=True,
        default="",
        db_default="",
        help_text=_("Keyed digest of the term searched, never the term itself."),
    )
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)

    class Meta:
        verbose_name = _("revealed personal data")
        verbose_name_plural = _("revealed personal data")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.customer_id} {self.identity_type}"
