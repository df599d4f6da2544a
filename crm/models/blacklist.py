"""The group-wide blacklist: a customer the group must not do business with.

It lives in ``crm`` so that every app checks it (``crm.services.assert_not_blacklisted``)
without depending on the app that shows it. An entry moves through its states only through
``crm.services.blacklist`` (four eyes: the one who decides is never the one who proposed):

    proposed ──approve──▶ active ──propose lifting──▶ lifting ──approve──▶ lifted
       │                    ▲                            │
       └──reject──▶ rejected └──────reject lifting───────┘
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.customers import Customer, staff_member

BLACKLIST_TEXT_MAX = 4000


class BlacklistReason(models.TextChoices):
    FRAUD = "fraud", _("Fraud")
    UNPAID_DEBTS = "unpaid_debts", _("Unpaid debts")
    LEGAL = "legal", _("Legal / compliance")
    SANCTIONS = "sanctions", _("Sanctions")
    OTHER = "other", _("Other")


class BlacklistStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACTIVE = "active", _("Blacklisted")
    REJECTED = "rejected", _("Rejected")
    LIFTING = "lifting", _("Lifting proposed")
    LIFTED = "lifted", _("Lifted")


# States in which the entry is still open (at most one per customer).
OPEN_STATUSES = (BlacklistStatus.PROPOSED, BlacklistStatus.ACTIVE, BlacklistStatus.LIFTING)
# States in which the customer is blacklisted (a lifting proposal changes nothing until approved).
BINDING_STATUSES = (BlacklistStatus.ACTIVE, BlacklistStatus.LIFTING)


class BlacklistEntry(models.Model):
    """One blacklisting of a customer, from its proposal to its lifting. Every transition
    keeps who, when and their comment. Evidence is text (facts, case numbers, links to the
    documents where they are kept); no file is stored here."""

    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="blacklist_entries",
        verbose_name=_("customer"),
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=BlacklistStatus.choices,
        default=BlacklistStatus.PROPOSED,
        db_default=BlacklistStatus.PROPOSED,
    )
    reason = models.CharField(_("reason"), max_length=16, choices=BlacklistReason.choices)
    evidence = models.TextField(
        _("evidence"),
        max_length=BLACKLIST_TEXT_MAX,
        help_text=_("Facts, case numbers, links to the documents. Shown to approvers only."),
    )
    scope_note = models.TextField(
        _("scope note"),
        max_length=BLACKLIST_TEXT_MAX,
        blank=True,
        default="",
        db_default="",
        help_text=_("What the blacklisting covers, e.g. “no credit sales in any unit”."),
    )
    proposed_by = staff_member(_("proposed by"))
    proposed_at = models.DateTimeField(_("proposed"), default=timezone.now, db_default=Now())
    decided_by = staff_member(_("approved or rejected by"))
    decided_at = models.DateTimeField(_("approved or rejected"), null=True, blank=True)
    decision_comment = models.TextField(
        _("decision comment"), max_length=BLACKLIST_TEXT_MAX, blank=True, default="", db_default=""
    )
    lift_proposed_by = staff_member(_("lifting proposed by"))
    lift_proposed_at = models.DateTimeField(_("lifting proposed"), null=True, blank=True)
    lift_reason = models.TextField(
        _("why lift it"), max_length=BLACKLIST_TEXT_MAX, blank=True, default="", db_default=""
    )
    lift_decided_by = staff_member(_("lifting decided by"))
    lift_decided_at = models.DateTimeField(_("lifting decided"), null=True, blank=True)
    lift_comment = models.TextField(
        _("lifting decision comment"),
        max_length=BLACKLIST_TEXT_MAX,
        blank=True,
        default="",
        db_default="",
    )
    note = models.TextField(
        _("system note"), blank=True, default="", db_default="", help_text=_("E.g. after a merge.")
    )

    class Meta:
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist entries")
        ordering = ["-proposed_at", "-id"]
        permissions = [("approve_blacklistentry", "Can approve or reject blacklist entries")]
        indexes = [
            models.Index("status", "proposed_at", name="blacklist_status_proposed"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status__in=OPEN_STATUSES),
                name="blacklist_one_open_per_customer",
            ),
            # Four eyes, also for whoever writes to the table directly.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True)
                | Q(proposed_by__isnull=True)
                | ~Q(decided_by=F("proposed_by")),
                name="blacklist_decider_not_proposer",
            ),
            models.CheckConstraint(
                condition=Q(lift_decided_by__isnull=True)
                | Q(lift_proposed_by__isnull=True)
                | ~Q(lift_decided_by=F("lift_proposed_by")),
                name="blacklist_lift_decider_not_proposer",
            ),
            models.CheckConstraint(
                condition=Q(status=BlacklistStatus.PROPOSED) | Q(decided_at__isnull=False),
                name="blacklist_decided_has_time",
            ),
            models.CheckConstraint(condition=~Q(evidence=""), name="blacklist_evidence_not_empty"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_reason_display()} ({self.get_status_display()})"

    @property
    def is_binding(self) -> bool:
        """The customer is blacklisted by this entry (active, or a lifting not yet approved)."""
        return self.status in BINDING_STATUSES
