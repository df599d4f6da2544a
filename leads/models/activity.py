"""What happens to a lead: follow-ups, its history (every movement and status change), and the
in-app notices to reps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leads.models.leads import Lead


class FollowUpKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    MESSAGE = "message", _("Message")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("E-mail")


class FollowUpOutcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    INTERESTED = "interested", _("Interested")
    NOT_INTERESTED = "not_interested", _("Not interested")
    CALL_BACK = "call_back", _("Call back later")


class FollowUp(models.Model):
    """A call, visit, message, meeting or e-mail with a lead, by the rep who held it."""

    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("lead")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="lead_follow_ups",
        verbose_name=_("by"),
    )
    kind = models.CharField(_("kind"), max_length=8, choices=FollowUpKind.choices)
    outcome = models.CharField(
        _("outcome"),
        max_length=14,
        choices=FollowUpOutcome.choices,
        blank=True,
        default="",
        db_default="",
    )
    note = models.TextField(_("note"), blank=True, default="", db_default="")
    next_step = models.CharField(
        _("next step"), max_length=200, blank=True, default="", db_default=""
    )
    next_action_at = models.DateTimeField(_("next action"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now, db_default=Now())
    created_at = models.DateTimeField(_("recorded"), default=timezone.now, db_default=Now())

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in FollowUpKind]),
                name="leads_follow_up_kind_valid",
            ),
        ]
        indexes = [
            models.Index(F("lead"), F("occurred_at").desc(), name="leads_follow_up_lead"),
            models.Index(fields=["author", "next_action_at"], name="leads_follow_up_next"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.lead_id}"


class LeadEventKind(models.TextChoices):
    CREATED = "created", _("Created")
    DUPLICATE = "duplicate", _("Submitted again")
    QUARANTINED = "quarantined", _("Quarantined")
    CLAIMED = "claimed", _("Claimed")
    ASSIGNED = "assigned", _("Assigned")
    TRANSFERRED = "transferred", _("Transferred")
    RELEASED = "released", _("Released to the pool")
    RECYCLE_WARNING = "recycle_warning", _("Recycling warning")
    RECYCLED = "recycled", _("Recycled")
    MOVED = "moved", _("Moved to the public pool")
    FOLLOWED_UP = "followed_up", _("Followed up")
    STATUS = "status", _("Status changed")
    LOST = "lost", _("Lost")
    CONVERTED = "converted", _("Converted")
    MERGED = "merged", _("Customer merged")


MOVEMENT_KINDS = (
    LeadEventKind.CLAIMED,
    LeadEventKind.ASSIGNED,
    LeadEventKind.TRANSFERRED,
    LeadEventKind.RELEASED,
    LeadEventKind.RECYCLED,
    LeadEventKind.MOVED,
)


class LeadEvent(models.Model):
    """The lead's history, append-only: every movement (claim, assignment, transfer, release,
    recycle: the assignment history), every status change and note. It is the lead's timeline;
    events of a matched customer are also written to the customer's timeline."""

    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="events", verbose_name=_("lead")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=LeadEventKind.choices)
    at = models.DateTimeField(_("when"), default=timezone.now, db_default=Now())
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from rep"),
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("to rep"),
    )
    from_pool = models.ForeignKey(
        "leads.LeadPool",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from pool"),
    )
    to_pool = models.ForeignKey(
        "leads.LeadPool",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("to pool"),
    )
    from_status = models.CharField(
        _("from status"), max_length=10, blank=True, default="", db_default=""
    )
    to_status = models.CharField(
        _("to status"), max_length=10, blank=True, default="", db_default=""
    )
    reason = models.CharField(_("reason"), max_length=40, blank=True, default="", db_default="")
    note = models.CharField(_("note"), max_length=500, blank=True, default="", db_default="")
    data = models.JSONField(_("data"), default=dict, db_default={}, blank=True)

    class Meta:
        verbose_name = _("lead event")
        verbose_name_plural = _("lead events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(F("lead"), F("at").desc(), name="leads_event_lead"),
            models.Index(fields=["lead", "kind", "from_owner"], name="leads_event_cooldown"),
            models.Index(fields=["kind", "at"], name="leads_event_kind_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.lead_id}"
