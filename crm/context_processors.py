from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from crm.registry import nav_items
from crm.roles import ROLE_LABELS


def shell(request: HttpRequest) -> dict[str, Any]:
    """Navigation the user's role may use, for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    return {"nav_items": nav_items(user), "user_roles": _LazyRoles(user)}


class _LazyRoles:
    """Translated role labels of the user, queried only if a template shows them."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self._labels: list[str] | None = None

    def _load(self) -> list[str]:
        if self._labels is None:
            names = sorted(self.user.role_names())
            self._labels = [str(ROLE_LABELS.get(n, n)) for n in names]
        return self._labels

    def __iter__(self) -> Any:
        return iter(self._load())

    def __bool__(self) -> bool:
        return bool(self._load())

    def __len__(self) -> int:
        return len(self._load())
