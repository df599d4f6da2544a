"""Duplicate candidates, merges and the audit of personal-data access."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.customers import Customer, staff_member


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
            # the home page's "duplicates waiting", oldest first
            models.Index(
                "created_at", "id", condition=Q(status="open"), name="duplicate_open_oldest"
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

    @property
    def loser_shown_name(self) -> str:
        """The merged customer's name as it read then (a generated one as a placeholder)."""
        snapshot = self.loser_snapshot or {}
        before = Customer(
            display_name=snapshot.get("display_name") or "",
            name_is_generated=bool(snapshot.get("name_is_generated")),
        )
        return str(before.shown_name)


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
