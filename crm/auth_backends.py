"""Django's ``ModelBackend`` with a user's permissions and role names read in one query.

The stock backend reads a signed-in user's own permissions, then their groups' permissions
(two queries), and ``User.role_names()`` reads the groups' names (a third): on every page,
because the navigation, the views and the templates all ask. Here one ``UNION`` answers all
three, once per request (the user object is per request; nothing is kept in the process).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, Value


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
    text: CharField[str, str] = CharField()
    own = Permission.objects.filter(user=user).values_list(
        Value("user", output_field=text), "content_type__app_label", "codename"
    )
    via_groups = Permission.objects.filter(group__user=user).values_list(
        Value("group", output_field=text), "content_type__app_label", "codename"
    )
    groups = Group.objects.filter(user=user).values_list(
        Value("role", output_field=text), Value("", output_field=text), "name"
    )
    found: dict[str, set[str]] = {"user": set(), "group": set(), "role": set()}
    for source, app_label, name in own.union(via_groups, groups, all=True):
        found[source].add(f"{app_label}.{name}" if source != "role" else name)
    user._user_perm_cache = found["user"]
    user._group_perm_cache = found["group"]
    # ``User.role_names()`` reads this instead of querying the groups again.
    user.__dict__.setdefault("_role_names", frozenset(found["role"]))


class CrmModelBackend(ModelBackend):
    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if obj is None:
            load_permissions(user_obj)
        return super().get_all_permissions(user_obj, obj)  # type: ignore[no-any-return]
