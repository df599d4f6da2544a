"""Rule-based tags and segments: saved rules of ``crm.rules`` over the customer master.

A :class:`TagRule` makes its tag a rule tag: the system adds the tag to every customer the
rule matches and takes it off those it no longer matches (``crm.services.apply_tag_rules``);
each link it sets records the rule (``CustomerTag.rule = TagRule.key``) and when. A
:class:`Segment` is a named rule with an owner: live (evaluated whenever it is used) or
frozen (its members are those of its latest :class:`SegmentSnapshot`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.customers import Customer, staff_member
from crm.models.tags import Tag

SEGMENT_NAME_MAX = 120


class TagRule(models.Model):
    tag = models.OneToOneField(
        Tag, on_delete=models.CASCADE, related_name="tag_rule", verbose_name=_("tag")
    )
    rule = models.JSONField(_("rule"))
    is_active = models.BooleanField(
        _("active"),
        default=True,
        db_default=True,
        help_text=_("Inactive rules are not applied; the tags they set stay until removed."),
    )
    created_by = staff_member(_("created by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, db_default=Now())
    applied_at = models.DateTimeField(_("last applied"), null=True, blank=True)
    matched = models.PositiveIntegerField(_("customers matched"), null=True, blank=True)
    added = models.PositiveIntegerField(_("tags added"), null=True, blank=True)
    removed = models.PositiveIntegerField(_("tags removed"), null=True, blank=True)

    class Meta:
        verbose_name = _("tag rule")
        verbose_name_plural = _("tag rules")
        ordering = ["tag__category__name", "tag__name"]

    def __str__(self) -> str:
        return str(self.tag) if self.tag_id else str(_("tag rule"))

    @property
    def key(self) -> str:
        """What ``CustomerTag.rule`` records for the links this rule sets."""
        return f"rule:{self.pk}"


class SegmentMode(models.TextChoices):
    LIVE = "live", _("Live")
    FROZEN = "frozen", _("Frozen")


class Segment(models.Model):
    name = models.CharField(_("name"), max_length=SEGMENT_NAME_MAX)
    description = models.CharField(_("description"), max_length=300, blank=True, db_default="")
    rule = models.JSONField(_("rule"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="segments",
        verbose_name=_("owner"),
    )
    mode = models.CharField(
        _("mode"),
        max_length=8,
        choices=SegmentMode.choices,
        default=SegmentMode.LIVE,
        db_default=SegmentMode.LIVE,
        help_text=_(
            "Live: the customers the rule matches whenever it is used. Frozen: the members "
            "of its latest snapshot."
        ),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, db_default=Now())

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="segment_name_unique"),
            models.CheckConstraint(condition=Q(name__regex=r"\S"), name="segment_name_given"),
            models.CheckConstraint(
                condition=Q(mode__in=SegmentMode.values), name="segment_mode_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_frozen(self) -> bool:
        return self.mode == SegmentMode.FROZEN


class SegmentSnapshot(models.Model):
    """The members of a segment at one moment (a campaign targets them as they were)."""

    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="snapshots", verbose_name=_("segment")
    )
    rule = models.JSONField(_("rule"))
    taken_at = models.DateTimeField(_("taken"), default=timezone.now, db_default=Now())
    taken_by = staff_member(_("taken by"))
    member_count = models.PositiveIntegerField(_("members"), default=0, db_default=0)

    class Meta:
        verbose_name = _("segment snapshot")
        verbose_name_plural = _("segment snapshots")
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["segment", "-taken_at"], name="segment_snapshot_latest")]

    def __str__(self) -> str:
        return f"{self.segment_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class SegmentMember(models.Model):
    snapshot = models.ForeignKey(
        SegmentSnapshot,
        on_delete=models.CASCADE,
        related_name="members",
        verbose_name=_("snapshot"),
        db_index=False,  # segment_member_unique leads with it
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("customer"),
        db_index=False,  # read by snapshot only
    )

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "customer"], name="segment_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.snapshot_id}: {self.customer_id}"
