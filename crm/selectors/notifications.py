"""A user's notifications, newest first (the notifications page)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from crm.models import Notification


def notification_list(*, user: Any, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's own notifications, newest first (``notification_recent`` index)."""
    rows = Notification.objects.for_user(user)
    if unread_only:
        rows = rows.unread()
    return rows.only("id", "kind", "title", "body", "link", "read_at", "created_at")
