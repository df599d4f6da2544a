"""The one place that decides what a user may see.

Every list, detail, API endpoint and export reads through ``Model.objects.visible_to(user)``:
superusers and members of the ``admin`` role see every business unit; everybody else, and
every partner API key, sees the business units they belong to. An object outside that scope
is answered with 404, never 403, so that its existence does not leak.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.http import Http404

from crm.roles import ADMIN

_M = TypeVar("_M", bound=models.Model)


def sees_all_units(user: Any) -> bool:
    """True for superusers and the admin role; API keys never see across units."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "api_key", None):
        return False
    return bool(user.is_superuser or ADMIN in user.role_names())


def visible_unit_ids(user: Any) -> set[int] | None:
    """The business-unit ids ``user`` may see, or ``None`` for all of them."""
    if not getattr(user, "is_authenticated", False):
        return set()
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        return {api_key.business_unit_id}
    if sees_all_units(user):
        return None
    cached = getattr(user, "_crm_unit_ids", None)
    if cached is None:
        cached = set(user.business_units.values_list("id", flat=True))
        user._crm_unit_ids = cached
    return set(cached)


class ScopedQuerySet(models.QuerySet[_M]):
    """A queryset whose model names the path to its business unit in ``scope_field``."""

    def visible_to(self, user: Any) -> ScopedQuerySet[_M]:
        unit_ids = visible_unit_ids(user)
        if unit_ids is None:
            return self.all()
        field = getattr(self.model, "scope_field", "business_unit")
        if not getattr(self.model, "scope_many", False):
            return self.filter(**{f"{field}__in": unit_ids})
        # Through a many-to-many: a semi-join (``pk IN (SELECT ...)``), not the link joined
        # in and ``DISTINCT`` over every column (43 ms of planning alone on the account list).
        inside = self.model._base_manager.filter(**{f"{field}__in": unit_ids}).values("pk")
        return self.filter(pk__in=inside)


def get_visible_or_404(queryset: ScopedQuerySet[_M], user: Any, **lookup: Any) -> _M:
    """Fetch one object inside the user's scope; anything else is a 404."""
    try:
        return queryset.visible_to(user).get(**lookup)
    except (ObjectDoesNotExist, ValidationError, ValueError) as exc:
        raise Http404 from exc
