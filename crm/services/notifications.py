"""Telling users something in the app: ``notify`` writes notifications (the bell in the top bar
and the notifications page show them); ``mark_notifications_read`` marks them read.

Any app may call ``notify``: what it writes is read by the recipient, so each recipient's copy
is written in their own language (``language`` on the user, else the site's default) when
``title`` / ``body`` are given as callables or lazy translations::

    notify(owner, kind="campaigns.budget_exhausted",
           title=lambda: _("Rule “%(name)s” stopped") % {"name": rule.name},
           link=reverse("admin:campaigns_triggerrule_change", args=[rule.pk]),
           dedup_key=f"rule-budget:{rule.pk}:{rule.exhausted_at:%s}")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import NOTIFICATION_LINK_MAX, NOTIFICATION_TITLE_MAX, Notification, User

Text = str | Promise | Callable[[], Any]


class InvalidNotification(DomainError):
    code = "invalid_notification"


def _recipients(user_or_users: Any) -> list[Any]:
    """Users (or their ids) in the order given, each once."""
    if user_or_users is None:
        return []
    items: Iterable[Any] = (
        [user_or_users] if isinstance(user_or_users, User | int) else list(user_or_users)
    )
    seen: dict[int, Any] = {}
    for item in items:
        if item is None:
            continue
        pk = item if isinstance(item, int) else item.pk
        seen.setdefault(pk, item)
    ids = [pk for pk, item in seen.items() if isinstance(item, int)]
    if ids:  # the languages of users given by id, in one query
        active = User.objects.filter(pk__in=ids, is_active=True)
        languages = dict(active.values_list("pk", "language"))
        for pk in ids:
            if pk in languages:
                seen[pk] = User(pk=pk, language=languages[pk])
            else:
                del seen[pk]
    return list(seen.values())


def _render(text: Text) -> str:
    value = text() if callable(text) else text
    return str(value).strip()


def _check_link(link: str) -> str:
    link = (link or "").strip()
    if link and (not link.startswith("/") or link.startswith("//")):
        raise InvalidNotification(
            _("A notification links to a page of this site (a path starting with “/”)."),
            field="link",
        )
    if len(link) > NOTIFICATION_LINK_MAX:
        raise InvalidNotification(
            _("A notification's link holds at most %(max)d characters.")
            % {"max": NOTIFICATION_LINK_MAX},
            field="link",
        )
    return link


def notify(
    user_or_users: Any,
    kind: str,
    title: Text,
    body: Text = "",
    link: str = "",
    *,
    dedup_key: str = "",
    now: datetime | None = None,
) -> int:
    """Tell one user or several (users or ids; inactive users are skipped) something, in one
    ``INSERT``; returns how many notifications were written. With ``dedup_key``, a user who
    already has a notification under that key gets no second one (a retried task, a happening
    seen twice). Call it inside the transaction of the change it tells about: rolled back
    together."""
    kind = (kind or "").strip()
    if not kind or len(kind) > 50:
        raise InvalidNotification(_("Name the kind of notification."), field="kind")
    link = _check_link(link)
    dedup_key = (dedup_key or "").strip()[:150]
    now = now or timezone.now()
    recipients = [u for u in _recipients(user_or_users) if getattr(u, "is_active", True)]
    texts: dict[str, tuple[str, str]] = {}
    rows = []
    for user in recipients:
        language = getattr(user, "language", "") or settings.LANGUAGE_CODE
        if language not in texts:
            with translation.override(language):
                texts[language] = (_render(title), _render(body))
        title_text, body_text = texts[language]
        if not title_text:
            raise InvalidNotification(_("A notification needs a title."), field="title")
        rows.append(
            Notification(
                recipient_id=user.pk,
                kind=kind,
                title=title_text[:NOTIFICATION_TITLE_MAX],
                body=body_text,
                link=link,
                dedup_key=dedup_key,
                created_at=now,
            )
        )
    if not rows:
        return 0
    if not dedup_key:
        return len(Notification.objects.bulk_create(rows))
    with transaction.atomic():
        already = set(
            Notification.objects.filter(
                recipient_id__in=[r.recipient_id for r in rows], dedup_key=dedup_key
            ).values_list("recipient_id", flat=True)
        )
        fresh = [r for r in rows if r.recipient_id not in already]
        # Two writers at once: the unique (recipient, key) keeps one; the other is ignored.
        Notification.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def mark_notifications_read(
    *, user: Any, ids: Iterable[int] | None = None, now: datetime | None = None
) -> int:
    """Mark the user's unread notifications read: those of ``ids`` (others' are ignored), or
    all of them when ``ids`` is ``None``; returns how many changed."""
    from crm.auth_backends import forget_unread_notifications

    unread = Notification.objects.for_user(user).unread()
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    changed = unread.update(read_at=now or timezone.now())
    forget_unread_notifications(user)
    return changed
