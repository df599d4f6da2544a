"""The notifications page (list, filter unread, open, mark read, mark all read) and the bell's
value in the top bar."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from crm import services
from crm.auth_backends import unread_notification_count
from crm.models import UNREAD_COUNT_CAP, Notification
from crm.selectors.notifications import notification_list
from crm.web.components import paginate

PAGE = 20


class Bell:
    """The top bar's bell: the unread count, read only if the navbar shows it (and then with
    the user's permissions or role names: no query of its own)."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def count(self) -> int:
        return unread_notification_count(self.user)

    @property
    def label(self) -> str:
        return f"{UNREAD_COUNT_CAP - 1}+" if self.count >= UNREAD_COUNT_CAP else str(self.count)


@require_GET
def notification_list_view(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    page = paginate(request, notification_list(user=request.user, unread_only=unread_only), PAGE)
    return render(request, "crm/notifications.html", {"page": page, "unread_only": unread_only})


def _back(request: HttpRequest) -> HttpResponse:
    """To the page the form was on (the list with its filter and page), else the list."""
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect("notification-list")


@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's notifications read (someone else's: nothing happens)."""
    services.mark_notifications_read(user=request.user, ids=[pk])
    return _back(request)


@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the notification read and go where it links (the list when it links nowhere)."""
    found = Notification.objects.for_user(request.user).filter(pk=pk).only("link").first()
    services.mark_notifications_read(user=request.user, ids=[pk])
    if (
        found is not None
        and found.link
        and url_has_allowed_host_and_scheme(
            found.link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return redirect(found.link)
    return _back(request)


@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    changed = services.mark_notifications_read(user=request.user)
    if changed:
        messages.success(
            request,
            ngettext(
                "%(count)d notification marked read.",
                "%(count)d notifications marked read.",
                changed,
            )
            % {"count": changed},
        )
    else:
        messages.info(request, _("Nothing was unread."))
    return _back(request)
