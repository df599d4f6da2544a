"""Django's ``ModelBackend`` with a user's permissions and role names read in one query.

The stock backend reads a signed-in user's own permissions, then their groups' permissions
(two queries), and ``User.role_names()`` reads the groups' names (a third): on every page,
because the navigation, the views and the templates all ask. Here one ``UNION`` answers all
three, once per request (the user object is per request; nothing is kept in the process).
The same query counts the user's unread notifications (capped) for the bell in the top bar;
for superusers (whose permissions need no query) the role names' query does.

A signed-in session's user (``get_user``, once per request) is read with all of that and the
ids of the user's business units (``crm.policy.visible_unit_ids``) in the same statement:
every page and every session API call asks for them, and they were two more round trips.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.functional import LazyObject, empty

from crm.prepared import fetch_prepared


@cache
def _permissions_sql() -> str:
    """Own permissions (``u``), group permissions (``g``), group names (``r``) and the
    unread notifications (``n``) of one user; written out (the ORM's union cost more to
    compile than to run)."""
    user_model = get_user_model()
    user_perms = user_model.user_permissions.through._meta.db_table  # type: ignore[attr-defined]
    user_groups = user_model.groups.through._meta.db_table  # type: ignore[attr-defined]
    group_perms = Group.permissions.through._meta.db_table
    perm, content_type = Permission._meta.db_table, ContentType._meta.db_table
    name = "ct.app_label || '.' || p.codename"
    return (
        f"""
        SELECT 'u', {name} FROM {user_perms} up
          JOIN {perm} p ON p.id = up.permission_id
          JOIN {content_type} ct ON ct.id = p.content_type_id
         WHERE up.user_id = %(user)s
        UNION ALL
        SELECT 'g', {name} FROM {user_groups} ug
          JOIN {group_perms} gp ON gp.group_id = ug.group_id
          JOIN {perm} p ON p.id = gp.permission_id
          JOIN {content_type} ct ON ct.id = p.content_type_id
         WHERE ug.user_id = %(user)s
        UNION ALL
    """  # noqa: S608 (table names from the models; the user id is a parameter)
        + _roles_and_unread_sql()
    )


@cache
def _roles_and_unread_sql() -> str:
    """Group names (``r``) and the unread notifications, counted up to the cap (``n``)."""
    notification = apps.get_model("crm", "Notification")  # (crm.models imports this module)
    user_groups = get_user_model().groups.through._meta.db_table  # type: ignore[attr-defined]
    return f"""
        SELECT 'r', g.name FROM {user_groups} ug
          JOIN {Group._meta.db_table} g ON g.id = ug.group_id
         WHERE ug.user_id = %(user)s
        UNION ALL
        SELECT 'n', count(*)::text FROM (
            SELECT 1 FROM {notification._meta.db_table}
             WHERE recipient_id = %(user)s AND read_at IS NULL LIMIT {notification.UNREAD_CAP}
        ) unread
    """  # noqa: S608 (table names from the models; the user id is a parameter)


def load_permissions(user: Any) -> None:
    """Read ``user``'s own permissions, group permissions and group (role) names in one
    query, unless already read; superusers (every permission) and inactive users are left
    to ``ModelBackend``."""
    if (
        not user.is_active
        or user.is_anonymous
        or user.is_superuser
        or hasattr(user, "_perm_cache")
        or hasattr(user, "_user_perm_cache")
        or hasattr(user, "_group_perm_cache")
    ):
        return
    found = _read(_permissions_sql(), user)
    user._user_perm_cache = found["u"]
    user._group_perm_cache = found["g"]
    # ``User.role_names()`` reads this instead of querying the groups again.
    user.__dict__.setdefault("_role_names", frozenset(found["r"]))


def _read(sql: str, user: Any) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"u": set(), "g": set(), "r": set(), "n": set()}
    with connection.cursor() as cursor:
        cursor.execute(sql, {"user": user.pk})
        for source, name in cursor.fetchall():
            found[source].add(name)
    # The bell's count, read with the rest (``unread_notification_count``).
    user.__dict__.setdefault("_unread_notifications", int(next(iter(found["n"]), 0)))
    return found


def load_roles(user: Any) -> None:
    """Role names and unread notifications in one query, for a user whose permissions are
    not read by ``load_permissions`` (a superuser) or were read otherwise."""
    if "_role_names" in user.__dict__ and "_unread_notifications" in user.__dict__:
        return
    found = _read(_roles_and_unread_sql(), user)
    user.__dict__.setdefault("_role_names", frozenset(found["r"]))


def _unwrapped(user: Any) -> Any:
    """The user behind ``request.user``'s lazy object (whose own ``__dict__`` is not the
    user's: the per-request caches live on the user)."""
    if isinstance(user, LazyObject):
        lazy: Any = user
        if lazy._wrapped is empty:
            lazy._setup()
        return lazy._wrapped
    return user


def unread_notification_count(user: Any) -> int:
    """The user's unread notifications, up to ``UNREAD_COUNT_CAP``: read with the permissions
    (or, for a superuser, with the role names), so that the bell costs no query of its own on
    a page that shows the navigation."""
    if not user.is_authenticated:
        return 0
    user = _unwrapped(user)
    if "_unread_notifications" not in user.__dict__:
        load_permissions(user)
    if "_unread_notifications" not in user.__dict__:
        load_roles(user)
    return int(user.__dict__["_unread_notifications"])


def forget_unread_notifications(user: Any) -> None:
    """After the user read notifications in this request: the next ask counts again."""
    _unwrapped(user).__dict__.pop("_unread_notifications", None)


@cache
def _user_sql() -> str:
    """The user's row, then everything ``_permissions_sql`` reads and the user's business units
    (``b``), as ``"<source>:<name>"`` strings in one array column."""
    user_model = get_user_model()
    columns = ", ".join(f'u."{f.column}"' for f in user_model._meta.concrete_fields)
    units = user_model.business_units.through._meta.db_table  # type: ignore[attr-defined]
    return f"""
        SELECT {columns}, ARRAY(
            SELECT x.source || ':' || x.name FROM (
                {_permissions_sql()}
                UNION ALL
                SELECT 'b', businessunit_id::text FROM {units} WHERE user_id = %(user)s
            ) x(source, name)
        )
        FROM {user_model._meta.db_table} u WHERE u.id = %(user)s
    """  # noqa: S608 (table and column names from the models; the user id is a parameter)


def read_signed_in_user(user_id: Any) -> Any:
    """The user ``user_id`` with their permissions, role names, unread notifications and
    business units already read (what ``load_permissions``, ``load_roles`` and
    ``visible_unit_ids`` would each read later), in one statement; ``None`` if none."""
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(user_id)  # type: ignore[union-attr]
    except (TypeError, ValueError, ValidationError):
        return None
    # Prepared once per connection: every signed-in request runs it.
    row = fetch_prepared(_user_sql(), {"user": pk})
    if row is None:
        return None
    names = [f.attname for f in user_model._meta.concrete_fields]
    user: Any = user_model.from_db(connection.alias, names, row[:-1])
    found: dict[str, set[str]] = {"u": set(), "g": set(), "r": set(), "n": set(), "b": set()}
    for item in row[-1]:
        source, _sep, name = item.partition(":")
        found[source].add(name)
    if user.is_active and not user.is_superuser:  # as ``load_permissions`` decides
        user._user_perm_cache = found["u"]
        user._group_perm_cache = found["g"]
    user.__dict__["_role_names"] = frozenset(found["r"])
    user.__dict__["_unread_notifications"] = int(next(iter(found["n"]), 0))
    user._crm_unit_ids = {int(pk) for pk in found["b"]}
    return user


class CrmModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        """The session's user with what every request asks of them (see the module)."""
        user = read_signed_in_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if obj is None:
            load_permissions(user_obj)
        return super().get_all_permissions(user_obj, obj)  # type: ignore[no-any-return]
