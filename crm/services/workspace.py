"""A user's workspace: saved list views and recently viewed customers."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, connection, transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Customer, SavedView
from crm.models.workspace import SAVED_VIEW_NAME_MAX, SAVED_VIEW_QUERY_MAX
from crm.registry import ListSpec, list_spec

RECENT_VIEWS_KEPT = 20
SAVED_VIEWS_PER_LIST = 50  # a dropdown, not a list to page through


class UnknownList(DomainError):
    code = "unknown_list"
    status = 404


class InvalidSavedView(DomainError):
    code = "invalid_saved_view"


class SavedViewNameTaken(DomainError):
    code = "saved_view_name_taken"
    status = 409


def known_list(list_key: str, user: Any = None) -> ListSpec:
    """The registered list ``list_key``, if ``user`` may open it (else ``UnknownList``)."""
    spec = list_spec(list_key)
    if spec is None or (
        user is not None and spec.permission is not None and not user.has_perm(spec.permission)
    ):
        raise UnknownList(_("There is no such list."), field="list_key")
    return spec


def sanitize_query(spec: ListSpec, query: str | QueryDict) -> str:
    """The query string kept of ``query``: only the list's filter parameters, non-empty, in
    the order the list declares them (so one filter reads one way)."""
    data = query if isinstance(query, QueryDict) else QueryDict(query.lstrip("?"))
    kept = QueryDict(mutable=True)
    defaults = dict(spec.defaults)
    for param in spec.params:
        values = [v.strip() for v in data.getlist(param) if v.strip()]
        if param in defaults and values == [defaults[param]]:
            continue
        if values:
            kept.setlist(param, [v[:200] for v in values])
    return kept.urlencode()


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise InvalidSavedView(_("Give the view a name."), field="name")
    if len(cleaned) > SAVED_VIEW_NAME_MAX:
        raise InvalidSavedView(
            _("A name has at most %(max)d characters.") % {"max": SAVED_VIEW_NAME_MAX},
            field="name",
        )
    return cleaned


def _name_taken(name: str) -> SavedViewNameTaken:
    return SavedViewNameTaken(
        _("You already have a view named “%(name)s” on this list.") % {"name": name},
        field="name",
    )


def save_view(*, user: Any, list_key: str, name: str, query: str | QueryDict) -> SavedView:
    """Save the current filters of a list under a name of the user's (unique per list)."""
    spec = known_list(list_key, user)
    cleaned = _clean_name(name)
    kept = sanitize_query(spec, query)
    if len(kept) > SAVED_VIEW_QUERY_MAX:
        raise InvalidSavedView(_("These filters are too long to save."), field="query")
    if SavedView.objects.filter(user=user, list_key=spec.key).count() >= SAVED_VIEWS_PER_LIST:
        raise InvalidSavedView(
            _("You have %(max)d saved views on this list; delete one first.")
            % {"max": SAVED_VIEWS_PER_LIST},
            field="name",
        )
    try:
        with transaction.atomic():
            return SavedView.objects.create(user=user, list_key=spec.key, name=cleaned, query=kept)
    except IntegrityError as exc:  # the unique (user, list, name): checked by the database
        raise _name_taken(cleaned) from exc


def rename_view(*, view: SavedView, name: str) -> SavedView:
    cleaned = _clean_name(name)
    if cleaned == view.name:
        return view
    try:
        with transaction.atomic():
            SavedView.objects.filter(pk=view.pk).update(name=cleaned, updated_at=timezone.now())
    except IntegrityError as exc:
        raise _name_taken(cleaned) from exc
    view.name = cleaned
    return view


def delete_view(*, view: SavedView) -> None:
    SavedView.objects.filter(pk=view.pk).delete()


_RECORD_RECENT_SQL = """
WITH upsert AS (
    INSERT INTO crm_recentview (user_id, customer_id, viewed_at)
    VALUES (%(user)s, %(customer)s, %(now)s)
    ON CONFLICT (user_id, customer_id) DO UPDATE SET viewed_at = EXCLUDED.viewed_at
    RETURNING id
)
DELETE FROM crm_recentview
WHERE user_id = %(user)s AND customer_id <> %(customer)s AND id NOT IN (
    SELECT id FROM crm_recentview
    WHERE user_id = %(user)s AND customer_id <> %(customer)s
    ORDER BY viewed_at DESC, id DESC
    LIMIT %(others)s
)
"""


def record_recent_view(*, user: Any, customer: Customer) -> None:
    """Remember that ``user`` opened ``customer`` now; keep the user's latest
    ``RECENT_VIEWS_KEPT`` customers. One statement (an upsert and the trim, which sees the
    other customers only, so the kept rows are exactly the latest ones)."""
    if not getattr(user, "pk", None) or getattr(user, "api_key", None) is not None:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_RECENT_SQL,
            {
                "user": user.pk,
                "customer": customer.pk,
                "now": timezone.now(),
                "others": RECENT_VIEWS_KEPT - 1,
            },
        )
