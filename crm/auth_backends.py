"""Django's ``ModelBackend`` with a user's permissions and role names read in one query.

The stock backend reads a signed-in user's own permissions, then their groups' permissions
(two queries), and ``User.role_names()`` reads the groups' names (a third): on every page,
because the navigation, the views and the templates all ask. Here one ``UNION`` answers all
three, once per request (the user object is per request; nothing is kept in the process).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection


@cache
def _permissions_sql() -> str:
    """Own permissions (``u``), group permissions (``g``) and group names (``r``) of one
    user; written out (the ORM's three-way union cost more to compile than to run)."""
    user_model = get_user_model()
    user_perms = user_model.user_permissions.through._meta.db_table  # type: ignore[attr-defined]
    user_groups = user_model.groups.through._meta.db_table  # type: ignore[attr-defined]
    group_perms = Group.permissions.through._meta.db_table
    perm, content_type = Permission._meta.db_table, ContentType._meta.db_table
    name = "ct.app_label || '.' || p.codename"
    return f"""
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
        SELECT 'r', g.name FROM {user_groups} ug
          JOIN {Group._meta.db_table} g ON g.id = ug.group_id
         WHERE ug.user_id = %(user)s
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
    found: dict[str, set[str]] = {"u": set(), "g": set(), "r": set()}
    with connection.cursor() as cursor:
        cursor.execute(_permissions_sql(), {"user": user.pk})
        for source, name in cursor.fetchall():
            found[source].add(name)
    user._user_perm_cache = found["u"]
    user._group_perm_cache = found["g"]
    # ``User.role_names()`` reads this instead of querying the groups again.
    user.__dict__.setdefault("_role_names", frozenset(found["r"]))


class CrmModelBackend(ModelBackend):
    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if obj is None:
            load_permissions(user_obj)
        return super().get_all_permissions(user_obj, obj)  # type: ignore[no-any-return]
