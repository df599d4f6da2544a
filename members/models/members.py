"""Members of the group's one loyalty programme, their old numbers and level history."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.policy import visible_unit_ids
from members.numbers import qr_value


class EnrolmentChannel(models.TextChoices):
    STORE = "store", _("Store")
    WECHAT_MINI = "wechat_mini", _("WeChat mini-program")
    APP = "app", _("App")
    ONLINE_MALL = "online_mall", _("Online mall")
    TMALL = "tmall", _("Tmall")
    JD = "jd", _("JD.com")


class MemberStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")
    CLOSED = "closed", _("Closed")


class MemberQuerySet(models.QuerySet["Member"]):
    def visible_to(self, user: Any) -> MemberQuerySet:
        """The programme is group-wide: staff who may view members see them all (like the
        customer master); a partner key sees the members its unit enrolled or served."""
        if getattr(user, "api_key", None) is not None:
            from crm.models import Transaction

            units = visible_unit_ids(user) or set()
            served = Transaction.objects.filter(
                customer_id=OuterRef("customer_id"), business_unit__in=units
            )
            # EXISTS, not a join + DISTINCT: one member row each, no sort of every column
            return self.filter(Q(enrolled_business_unit__in=units) | Exists(served))
        return self.all() if getattr(user, "is_authenticated", False) else self.none()

    def live(self) -> MemberQuerySet:
        return self.filter(merged_into__isnull=True)


class Member(models.Model):
    """A person customer enrolled once. ``points_balance`` is the sum of its ledger entries,
    kept in the same transaction as every entry (CHECK ≥ 0)."""

    customer = models.OneToOneField(
        "crm.Customer",
        on_delete=models.PROTECT,
        related_name="member",
        verbose_name=_("customer"),
    )
    number = models.CharField(_("member number"), max_length=12, unique=True)
    enrolled_business_unit = models.ForeignKey(
        "crm.BusinessUnit",
        on_delete=models.PROTECT,
        related_name="enrolled_members",
        verbose_name=_("enrolling unit"),
        db_index=False,  # member_unit_enrolled leads with it
    )
    channel = models.CharField(_("channel"), max_length=12, choices=EnrolmentChannel.choices)
    enrolled_at = models.DateTimeField(_("enrolled"), default=timezone.now, db_default=Now())
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("enrolled by"),
        db_index=False,  # member_enrolled_by: only the members staff enrolled
    )
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=MemberStatus.choices,
        default=MemberStatus.ACTIVE,
        db_default=MemberStatus.ACTIVE,
    )
    status_reason = models.CharField(
        _("status reason"), max_length=300, blank=True, default="", db_default=""
    )
    level = models.ForeignKey(
        "members.Level",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("level"),
        db_index=False,  # member_level_status leads with it
    )
    level_since = models.DateTimeField(_("level since"), null=True, blank=True)
    points_balance = models.IntegerField(_("points balance"), default=0, db_default=0)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        verbose_name=_("merged into"),
        db_index=False,  # member_merged_into: only the merged members
    )

    objects = MemberQuerySet.as_manager()

    scope_field: ClassVar[str] = "enrolled_business_unit"

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-enrolled_at", "-id"]
        permissions = [
            ("adjust_points", "Can adjust points with a reason"),
            ("approve_adjustment", "Can approve large points adjustments"),
            ("freeze_member", "Can freeze and unfreeze members"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(points_balance__gte=0), name="member_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(number__regex=r"^8[0-9]{9}$"), name="member_number_format"
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | Q(status="closed", points_balance=0),
                name="member_merged_is_closed_and_empty",
            ),
        ]
        # Every earn and redeem updates the member's balance, which opens every index of the
        # table (and writes to each when the update is not HOT): no index that another one
        # leads with, and the mostly empty references indexed only where they are set.
        indexes = [
            models.Index(fields=["level", "status"], name="member_level_status"),
            models.Index(
                fields=["enrolled_business_unit", "enrolled_at"], name="member_unit_enrolled"
            ),
            models.Index(
                fields=["enrolled_by"],
                condition=Q(enrolled_by__isnull=False),
                name="member_enrolled_by",
            ),
            models.Index(
                fields=["merged_into"],
                condition=Q(merged_into__isnull=False),
                name="member_merged_into",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def qr_value(self) -> str:
        return qr_value(self.number)

    @property
    def is_active(self) -> bool:
        return self.status == MemberStatus.ACTIVE


class MemberNumberAlias(models.Model):
    """A number that used to be another member's (merged into ``member``): it still finds it."""

    number = models.CharField(_("old member number"), max_length=12, unique=True)
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="aliases", verbose_name=_("member")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())

    class Meta:
        verbose_name = _("old member number")
        verbose_name_plural = _("old member numbers")

    def __str__(self) -> str:
        return self.number


class LevelChangeReason(models.TextChoices):
    ENROLMENT = "enrolment", _("Enrolment")
    UPGRADE = "upgrade", _("Threshold reached")
    DOWNGRADE = "downgrade", _("Periodic evaluation")
    MERGE = "merge", _("Members merged")
    MANUAL = "manual", _("Set by staff")


class LevelChange(models.Model):
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="level_changes", verbose_name=_("member")
    )
    from_level = models.ForeignKey(
        "members.Level",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from"),
    )
    to_level = models.ForeignKey(
        "members.Level", on_delete=models.PROTECT, related_name="+", verbose_name=_("to")
    )
    reason = models.CharField(_("reason"), max_length=10, choices=LevelChangeReason.choices)
    measure = models.DecimalField(
        _("qualifying measure"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    changed_at = models.DateTimeField(_("changed"), default=timezone.now, db_default=Now())

    class Meta:
        verbose_name = _("level change")
        verbose_name_plural = _("level changes")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["member", "-changed_at"], name="level_change_member")]

    def __str__(self) -> str:
        return f"{self.from_level_id} → {self.to_level_id}"
