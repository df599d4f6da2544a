"""Leads: a potential customer from a source and channel, worked by a rep until converted or
lost, and what happened to it (follow-ups, movements, status changes)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models.customers import NameGrams
from crm.policy import ScopedQuerySet, sees_all_units, visible_unit_ids
from leads.models.pools import LeadPoolMember, PoolRole


class LeadKind(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")


class LeadSource(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    TRADE_SHOW = "trade_show", _("Trade show")
    PARTNER_API = "partner_api", _("Partner API")
    IMPORT = "import", _("Import")
    REFERRAL = "referral", _("Referral")
    AD = "ad", _("Advertising")
    CALL_IN = "call_in", _("Call-in")


class LeadStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("lead status", "New")
    ASSIGNED = "assigned", _("Assigned")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    CONVERTED = "converted", _("Converted")
    LOST = "lost", _("Lost")


OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
HELD_STATUSES = (LeadStatus.ASSIGNED, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
CLOSED_STATUSES = (LeadStatus.CONVERTED, LeadStatus.LOST)

# The state machine: from → the statuses a service may move a lead to. ``new`` ↔ ``assigned``
# by claiming/assigning and releasing/recycling; a held lead may also go back to ``new``.
TRANSITIONS: dict[str, frozenset[str]] = {
    LeadStatus.NEW: frozenset({LeadStatus.ASSIGNED, LeadStatus.LOST}),
    LeadStatus.ASSIGNED: frozenset(
        {LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.LOST}
    ),
    LeadStatus.CONTACTED: frozenset({LeadStatus.NEW, LeadStatus.QUALIFIED, LeadStatus.LOST}),
    LeadStatus.QUALIFIED: frozenset(
        {LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.CONVERTED, LeadStatus.LOST}
    ),
    LeadStatus.CONVERTED: frozenset(),
    LeadStatus.LOST: frozenset(),
}


class LostReason(models.TextChoices):
    NO_NEED = "no_need", _("No need")
    BUDGET = "budget", _("No budget")
    COMPETITOR = "competitor", _("Chose a competitor")
    UNREACHABLE = "unreachable", _("Unreachable")
    INVALID = "invalid", _("Invalid or fake contact")
    DUPLICATE = "duplicate", _("Duplicate")
    OTHER = "other", _("Other")


class LeadNames(Func):
    """``name || ' ' || company``: what a search by name looks in, the contact's name and the
    company's (the space keeps a character pair from spanning both). Its characters and pairs
    are the stored ``Lead.name_grams``; the trigram GIN index is on this expression."""

    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = models.CharField()

    def __init__(self) -> None:
        super().__init__(F("name"), F("company"))


class LeadQuerySet(ScopedQuerySet["Lead"]):
    def visible_to(self, user: Any) -> LeadQuerySet:
        """A partner key sees the leads its unit's keys submitted; admins everything; a
        manager (``leads.manage_lead``) the leads of their units; a rep the unclaimed leads of
        the public pools of their units and of the team pools they belong to, and their own."""
        api_key = getattr(user, "api_key", None)
        if api_key is not None:
            return self.filter(
                business_unit_id=api_key.business_unit_id,
                source_key__business_unit_id=api_key.business_unit_id,
            )
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_units(user):
            return self.all()
        units = visible_unit_ids(user) or set()
        in_units = self.filter(business_unit__in=units)
        if user.has_perm("leads.manage_lead"):
            return in_units
        # The pools the rep belongs to as subqueries, not joins: no row is repeated, so no
        # DISTINCT over every column (planned in ~15 ms on the pool list at 1M leads).
        memberships = LeadPoolMember.objects.filter(user=user)
        return in_units.filter(
            Q(owner=user)
            | Q(owner__isnull=True, pool__kind="public")
            | Q(owner__isnull=True, pool__in=memberships.values("pool"))
            | Q(pool__in=memberships.filter(role=PoolRole.MANAGER).values("pool"))
        )

    def open(self) -> LeadQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def unclaimed(self) -> LeadQuerySet:
        return self.filter(owner__isnull=True, status=LeadStatus.NEW, quarantined=False)

    def in_pool(self, pool: Any) -> LeadQuerySet:
        return self.filter(pool=pool)

    def held_by(self, user: Any) -> LeadQuerySet:
        return self.filter(owner=user, status__in=HELD_STATUSES)


class Lead(models.Model):
    """A potential customer. Identities are stored normalized (``crm.normalizers``): phone in
    E.164, e-mail lower-case, WeChat id as given; empty when unknown. ``customer`` is the
    customer master's match (an existing customer at intake, or the one conversion made)."""

    scope_field: ClassVar[str] = "business_unit"

    kind = models.CharField(
        _("kind"),
        max_length=8,
        choices=LeadKind.choices,
        default=LeadKind.PERSON,
        db_default=LeadKind.PERSON,
    )
    name = models.CharField(_("name"), max_length=100, blank=True, default="", db_default="")
    company = models.CharField(_("company"), max_length=200, blank=True, default="", db_default="")
    title = models.CharField(_("job title"), max_length=100, blank=True, default="", db_default="")
    phone = models.CharField(_("phone"), max_length=20, blank=True, default="", db_default="")
    email = models.CharField(_("e-mail"), max_length=254, blank=True, default="", db_default="")
    wechat = models.CharField(_("WeChat"), max_length=64, blank=True, default="", db_default="")
    region = models.CharField(_("region"), max_length=60, blank=True, default="", db_default="")
    industry = models.CharField(_("industry"), max_length=60, blank=True, default="", db_default="")
    source = models.CharField(
        _("source"),
        max_length=12,
        choices=LeadSource.choices,
        default=LeadSource.WEB_FORM,
        db_default=LeadSource.WEB_FORM,
    )
    channel = models.CharField(_("channel"), max_length=40, blank=True, default="", db_default="")
    campaign_code = models.CharField(
        _("campaign code"), max_length=40, blank=True, default="", db_default=""
    )
    business_unit = models.ForeignKey(
        "crm.BusinessUnit",
        on_delete=models.PROTECT,
        related_name="leads",
        verbose_name=_("business unit"),
    )
    pool = models.ForeignKey(
        "leads.LeadPool", on_delete=models.PROTECT, related_name="leads", verbose_name=_("pool")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("owner"),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=LeadStatus.choices,
        default=LeadStatus.NEW,
        db_default=LeadStatus.NEW,
    )
    lost_reason = models.CharField(
        _("lost reason"),
        max_length=12,
        choices=LostReason.choices,
        blank=True,
        default="",
        db_default="",
    )
    lost_note = models.CharField(
        _("lost note"), max_length=300, blank=True, default="", db_default=""
    )
    score = models.PositiveSmallIntegerField(_("score"), default=0, db_default=0)
    note = models.TextField(_("note"), blank=True, default="", db_default="")
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    first_contacted_at = models.DateTimeField(_("first contacted"), null=True, blank=True)
    last_follow_up_at = models.DateTimeField(_("last follow-up"), null=True, blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    recycle_warned_at = models.DateTimeField(_("recycle warning sent"), null=True, blank=True)
    pooled_at = models.DateTimeField(
        _("in this pool since"), default=timezone.now, db_default=Now()
    )
    customer = models.ForeignKey(
        "crm.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("matched customer"),
    )
    existing_customer = models.BooleanField(
        _("existing customer"),
        default=False,
        db_default=False,
        help_text=_("The customer master already knew this party when the lead arrived."),
    )
    customer_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer's owner"),
        help_text=_("The existing customer's account owner when the lead arrived."),
    )
    # Stored, as the customer master's: a list tests it per row for the price of an array
    # comparison where computing it (``crm_name_grams``) costs ~0.1 ms, and its statistics
    # tell the planner how common a fragment is (the index or the list's own order).
    name_grams = models.GeneratedField(
        expression=NameGrams(LeadNames()),
        output_field=ArrayField(models.TextField()),
        db_persist=True,
        editable=False,
    )
    quarantined = models.BooleanField(_("quarantined"), default=False, db_default=False)
    quarantine_reason = models.CharField(
        _("quarantine reason"), max_length=300, blank=True, default="", db_default=""
    )
    source_key = models.ForeignKey(
        "crm.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted with key"),
    )
    external_ref = models.CharField(
        _("vendor reference"), max_length=80, blank=True, default="", db_default=""
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_default=Now())

    objects = LeadQuerySet.as_manager()

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("claim_lead", _("Can claim leads and work them")),
            ("manage_lead", _("Can assign, transfer and release the team's leads")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in LeadStatus]), name="leads_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=100), name="leads_score_0_100"
            ),
            models.CheckConstraint(
                condition=~Q(name="") | ~Q(company=""), name="leads_has_name_or_company"
            ),
            # Unclaimed ⇔ new; a held lead has an owner and a claim time.
            models.CheckConstraint(
                condition=Q(status="new", owner__isnull=True)
                | Q(
                    status__in=["assigned", "contacted", "qualified"],
                    owner__isnull=False,
                    claimed_at__isnull=False,
                )
                | Q(status__in=["converted", "lost"]),
                name="leads_owner_matches_status",
            ),
            models.CheckConstraint(
                condition=~Q(status="lost") | ~Q(lost_reason=""), name="leads_lost_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(status="converted")
                | Q(customer__isnull=False, converted_at__isnull=False),
                name="leads_converted_has_customer",
            ),
            models.CheckConstraint(
                condition=Q(quarantined=False) | ~Q(quarantine_reason=""),
                name="leads_quarantine_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(quarantined=False) | Q(owner__isnull=True),
                name="leads_quarantined_unclaimed",
            ),
            # One open lead per identity and unit: the backstop of intake's dedup.
            *[
                models.UniqueConstraint(
                    fields=["business_unit", field],
                    condition=~Q(**{field: ""})
                    & Q(status__in=["new", "assigned", "contacted", "qualified"]),
                    name=f"leads_open_{field}_once",
                )
                for field in ("phone", "email", "wechat")
            ],
        ]
        indexes = [
            # The pool list (unclaimed leads of a pool, quarantined ones included, newest
            # first, keyset on created_at and id) and claim-next's scan (oldest first: the
            # same index backwards, the quarantined filtered out).
            models.Index(
                F("pool"),
                F("created_at").desc(),
                F("id").desc(),
                name="leads_pool_waiting",
                condition=Q(owner__isnull=True, status="new"),
            ),
            models.Index(fields=["owner", "status"], name="leads_owner_status"),
            models.Index(
                fields=["business_unit", "status", "created_at"], name="leads_unit_status_created"
            ),
            models.Index(fields=["customer"], name="leads_customer"),
            models.Index(
                fields=["claimed_at"],
                name="leads_held_claimed",
                condition=Q(status__in=["assigned", "contacted", "qualified"]),
            ),
            models.Index(fields=["source", "channel", "campaign_code"], name="leads_channel"),
            models.Index(fields=["source_key", "created_at"], name="leads_source_key"),
            # A search by a fragment of the name or company (``leads.selectors.search``): one
            # or two characters in the characters and pairs, three or more by trigram.
            # fastupdate off: no search walks a pending list that intake filled. (Statistics
            # on the pool's columns together: migration 0005.)
            GinIndex(fields=["name_grams"], name="leads_name_grams", fastupdate=False),
            GinIndex(
                OpClass(LeadNames(), name="gin_trgm_ops"), name="leads_name_trgm", fastupdate=False
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.kind == LeadKind.COMPANY and self.company:
            return f"{self.company} · {self.name}" if self.name else self.company
        return self.name or self.company

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_held(self) -> bool:
        return self.status in HELD_STATUSES and self.owner_id is not None

    def can_move_to(self, status: str) -> bool:
        return status in TRANSITIONS.get(self.status, frozenset())

    def recycle_due_at(self, pool: Any = None) -> datetime | None:
        """When the lead goes back to the public pool, by its pool's rules (held leads: the
        earlier of no follow-up within N days and not converted within M days)."""
        if not self.is_held or self.claimed_at is None:
            return None
        pool = pool or self.pool
        follow_up_due = (self.last_follow_up_at or self.claimed_at) + timedelta(
            days=pool.follow_up_days
        )
        convert_due = self.claimed_at + timedelta(days=pool.convert_days)
        return min(follow_up_due, convert_due)

    def is_overdue(self, now: datetime) -> bool:
        due = self.recycle_due_at()
        return due is not None and due <= now
