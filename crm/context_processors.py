from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from crm.registry import nav_items
from crm.roles import ROLE_LABELS


@dataclass(frozen=True)
class ShownNavItem:
    """A navigation entry as the navbar prints it (link and active state computed here:
    ``{% url %}`` and the comparisons per entry were a third of the navbar's rendering)."""

    key: str
    label: Any
    icon: str
    url: str
    active: bool


def shell(request: HttpRequest) -> dict[str, Any]:
    """Navigation the user's role may use, for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    return {"nav_items": _LazyNav(request, user), "user_roles": _LazyRoles(user)}


class _LazyNav:
    """The navigation entries, worked out only if a template shows them (htmx fragments
    and API answers never do)."""

    def __init__(self, request: HttpRequest, user: Any) -> None:
        self.request, self.user = request, user
        self._items: list[ShownNavItem] | None = None

    def _load(self) -> list[ShownNavItem]:
        if self._items is None:
            match = getattr(self.request, "resolver_match", None)
            current = {match.url_name, match.view_name} if match else set()
            self._items = [
                ShownNavItem(
                    key=i.key,
                    label=i.label,
                    icon=i.icon,
                    url=reverse(i.url_name),
                    active=i.url_name in current,
                )
                for i in nav_items(self.user)
            ]
        return self._items

    def __iter__(self) -> Any:
        return iter(self._load())

    def __bool__(self) -> bool:
        return bool(self._load())

    def __len__(self) -> int:
        return len(self._load())


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
