"""The points ledger: append-only entries, the lots earned points form, what consumed them,
and large manual adjustments waiting for a second approver.

Entries and consumptions are never updated or deleted (``crm.models.AppendOnlyModel`` in the
ORM, a trigger in the database). The one change the trigger lets through is a customer
merge moving entries to the surviving member (``member``/``customer`` only, while the merge's
transaction has called ``crm.services.allow_ledger_reassign``): their history moves intact.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import AppendOnlyModel
from crm.policy import ScopedQuerySet

REFERENCE_MAX = 120


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned")
    REDEEM = "redeem", _("Redeemed")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Adjusted")
    REVERSE = "reverse", _("Reversed (order cancelled)")
    UNCOLLECTABLE = "uncollectable", _("Uncollectable (already spent)")


class PointsEntry(AppendOnlyModel):
    """One movement of a member's points. ``points`` is the change of the balance (earn and
    positive adjustments up; redeem, expire, reverse and negative adjustments down); an
    ``uncollectable`` entry changes nothing (``points`` = 0) and records in ``unrecovered``
    the points a cancelled order had earned that the member had already spent."""

    movable_fields: ClassVar[tuple[str, ...]] = ("member", "customer")
    scope_field: ClassVar[str] = "business_unit"

    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("member"),
        db_index=False,  # points_entry_member_recent leads with it
    )
    customer = models.ForeignKey(
        "crm.Customer",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("customer"),
        db_index=False,
    )
    business_unit = models.ForeignKey(
        "crm.BusinessUnit",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("business unit"),
        db_index=False,  # the unique reference key leads with it
    )
    kind = models.CharField(_("type"), max_length=14, choices=EntryKind.choices)
    points = models.IntegerField(_("points"))
    unrecovered = models.PositiveIntegerField(_("unrecovered points"), default=0, db_default=0)
    spend = models.DecimalField(
        _("spend"),
        max_digits=14,
        decimal_places=2,
        default=0,
        db_default=0,
        help_text=_("The order amount an earn counts towards levels (negative on reversal)."),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True, default="", db_default="")
    reference = models.CharField(
        _("reference"), max_length=REFERENCE_MAX, blank=True, default="", db_default=""
    )
    order_reference = models.CharField(
        _("order"), max_length=REFERENCE_MAX, blank=True, default="", db_default=""
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        db_index=False,  # points_entry_actor: only the entries staff wrote (POS entries have none)
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_default=Now())

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            # A request with the same (unit, reference) applies once per kind of movement.
            models.UniqueConstraint(
                fields=["business_unit", "kind", "reference"],
                condition=~Q(reference=""),
                name="points_entry_reference_once",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="earn", points__gt=0)
                    | Q(kind__in=["redeem", "expire", "reverse"], points__lt=0)
                    | Q(kind="adjust") & ~Q(points=0)
                    | Q(kind="uncollectable", points=0, unrecovered__gt=0)
                ),
                name="points_entry_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind="uncollectable") | Q(unrecovered=0),
                name="points_entry_unrecovered_only_uncollectable",
            ),
        ]
        indexes = [
            models.Index(
                "member", F("created_at").desc(), F("id").desc(), name="points_entry_member_recent"
            ),
            models.Index(
                fields=["member", "business_unit", "order_reference"],
                condition=~Q(order_reference=""),
                name="points_entry_member_order",
            ),
            # For SET_NULL when a user is deleted (``actor_id IN (...)`` implies the condition):
            # the partner's entries (no actor, nearly all of them) are not indexed.
            models.Index(
                fields=["actor"], condition=Q(actor__isnull=False), name="points_entry_actor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d}"


class LotQuerySet(models.QuerySet["PointsLot"]):
    def open(self) -> LotQuerySet:
        """Lots with points left (``is_open``: the condition of the open-lot indexes)."""
        return self.filter(is_open=True)

    def usable_at(self, moment: object) -> LotQuerySet:
        return self.filter(is_open=True, expires_at__gt=moment)


class PointsLot(models.Model):
    """Points earned together, funded by one unit, spent first-in-first-out until they
    expire. ``remaining`` only decreases (redeem, expire, reverse, negative adjustment)."""

    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="lots",
        verbose_name=_("member"),
        db_index=False,
    )
    customer = models.ForeignKey(
        "crm.Customer", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    funding_business_unit = models.ForeignKey(
        "crm.BusinessUnit",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("funding unit"),
        # No index of its own: four or so values over millions of lots serve no query (the
        # liability and the dashboards read every lot), and each lot written, and each
        # consumption (an update that is not HOT), paid for one more index entry.
        db_index=False,
    )
    entry = models.OneToOneField(
        PointsEntry, on_delete=models.PROTECT, related_name="lot", verbose_name=_("earned by")
    )
    amount = models.PositiveIntegerField(_("points earned"))
    remaining = models.PositiveIntegerField(_("points remaining"))
    # ``remaining > 0``, kept by PostgreSQL: the open-lot indexes are partial on it instead of
    # on ``remaining``, so that taking part of a lot (the usual redemption) changes no indexed
    # column and is a HOT update (no new entry in any of the lot's indexes) when its page has
    # room (fillfactor 90, migration 0003); only emptying a lot changes it.
    is_open = models.GeneratedField(
        expression=GreaterThan(F("remaining"), 0),
        output_field=models.BooleanField(),
        db_persist=True,
        verbose_name=_("open"),
    )
    earned_at = models.DateTimeField(_("earned"))
    expires_at = models.DateTimeField(_("expires"))
    order_reference = models.CharField(
        _("order"), max_length=REFERENCE_MAX, blank=True, default="", db_default=""
    )

    objects = LotQuerySet.as_manager()

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        ordering = ["earned_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("amount")) & Q(amount__gt=0),
                name="points_lot_remaining_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("earned_at")), name="points_lot_expires_after_earned"
            ),
        ]
        indexes = [
            models.Index(
                fields=["member", "earned_at", "id"],
                condition=Q(is_open=True),
                name="points_lot_member_fifo",
            ),
            models.Index(fields=["expires_at"], condition=Q(is_open=True), name="points_lot_due"),
            models.Index(fields=["member", "expires_at"], name="points_lot_member_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.remaining}/{self.amount}"


class LotConsumption(AppendOnlyModel):
    """``points`` of ``lot`` taken by ``entry`` (a redemption, expiry, reversal or negative
    adjustment)."""

    entry = models.ForeignKey(
        PointsEntry, on_delete=models.PROTECT, related_name="consumptions", db_index=False
    )
    lot = models.ForeignKey(PointsLot, on_delete=models.PROTECT, related_name="consumptions")
    points = models.PositiveIntegerField(_("points"))
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_default=Now())

    class Meta:
        verbose_name = _("lot consumption")
        verbose_name_plural = _("lot consumptions")
        constraints = [
            models.UniqueConstraint(fields=["entry", "lot"], name="lot_consumption_once"),
            models.CheckConstraint(condition=Q(points__gt=0), name="lot_consumption_positive"),
        ]


class AdjustmentStatus(models.TextChoices):
    PROPOSED = "proposed", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class AdjustmentProposal(models.Model):
    """A manual adjustment larger than the programme's threshold: applied only once another
    person holding ``members.approve_adjustment`` approves it (four eyes)."""

    scope_field: ClassVar[str] = "business_unit"

    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="adjustment_proposals",
        verbose_name=_("member"),
    )
    business_unit = models.ForeignKey(
        "crm.BusinessUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    points = models.IntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=300)
    expires_at = models.DateTimeField(_("points expire"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=AdjustmentStatus.choices,
        default=AdjustmentStatus.PROPOSED,
        db_default=AdjustmentStatus.PROPOSED,
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    proposed_at = models.DateTimeField(_("proposed"), default=timezone.now, db_default=Now())
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_comment = models.CharField(
        _("comment"), max_length=300, blank=True, default="", db_default=""
    )
    entry = models.OneToOneField(
        PointsEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposal",
        verbose_name=_("entry"),
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("points adjustment awaiting approval")
        verbose_name_plural = _("points adjustments awaiting approval")
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="adjustment_points_not_zero"),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="adjustment_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(status="approved", entry__isnull=False)
                | ~Q(status="approved") & Q(entry__isnull=True),
                name="adjustment_approved_has_entry",
            ),
        ]
        indexes = [models.Index(fields=["status", "proposed_at"], name="adjustment_status")]

    def __str__(self) -> str:
        return f"{self.points:+d} ({self.get_status_display()})"
