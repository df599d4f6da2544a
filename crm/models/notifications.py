"""In-app notifications: something a user should know about (a rule's budget ran out, a
template's stock is gone …), shown by the bell in the top bar and on the notifications page.

Written by ``crm.services.notify`` in each recipient's language; ``dedup_key`` (optional)
names a happening so that telling the same user about it twice writes one row."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

NOTIFICATION_TITLE_MAX = 200
NOTIFICATION_LINK_MAX = 300
# The bell counts unread notifications up to this, then shows "99+".
UNREAD_COUNT_CAP = 100


class NotificationQuerySet(models.QuerySet["Notification"]):
    def for_user(self, user: Any) -> NotificationQuerySet:
        return self.filter(recipient_id=user.pk)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=50)
    title = models.CharField(_("title"), max_length=NOTIFICATION_TITLE_MAX)
    body = models.TextField(_("text"), blank=True, default="", db_default="")
    link = models.CharField(
        _("link"), max_length=NOTIFICATION_LINK_MAX, blank=True, default="", db_default=""
    )
    dedup_key = models.CharField(
        _("deduplication key"), max_length=150, blank=True, default="", db_default=""
    )
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())

    UNREAD_CAP: ClassVar[int] = UNREAD_COUNT_CAP

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedup_key"],
                condition=~Q(dedup_key=""),
                name="notification_once_per_key",
            ),
            models.CheckConstraint(
                condition=Q(link="") | (Q(link__startswith="/") & ~Q(link__startswith="//")),
                name="notification_link_local",
            ),
        ]
        indexes = [
            models.Index(
                "recipient", F("created_at").desc(), F("id").desc(), name="notification_recent"
            ),
            models.Index(
                fields=["recipient"], name="notification_unread", condition=Q(read_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
