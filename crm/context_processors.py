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
    from crm.web.notifications import Bell

    return {
        "nav_items": _LazyNav(request, user),
        "user_roles": _LazyRoles(user),
        "bell": Bell(user),
    }


class _LazyList:
    """A list worked out only if a template shows it (htmx fragments and API answers never
    do): ``compute`` runs on first use."""

    def __init__(self) -> None:
        self._items: list[Any] | None = None

    def compute(self) -> list[Any]:
        raise NotImplementedError

    def _load(self) -> list[Any]:
        if self._items is None:
            self._items = self.compute()
        return self._items

    def __iter__(self) -> Any:
        return iter(self._load())

    def __bool__(self) -> bool:
        return bool(self._load())

    def __len__(self) -> int:
        return len(self._load())


class _LazyNav(_LazyList):
    """The navigation entries the user may use."""

    def __init__(self, request: HttpRequest, user: Any) -> None:
        super().__init__()
        self.request, self.user = request, user

    def compute(self) -> list[ShownNavItem]:
        match = getattr(self.request, "resolver_match", None)
        current = {match.url_name, match.view_name} if match else set()
        return [
            ShownNavItem(
                key=i.key,
                label=i.label,
                icon=i.icon,
                url=reverse(i.url_name),
                active=bool(current.intersection((i.url_name, *i.also))),
            )
            for i in nav_items(self.user)
        ]


class _LazyRoles(_LazyList):
    """Translated role labels of the user."""

    def __init__(self, user: Any) -> None:
        super().__init__()
        self.user = user

    def compute(self) -> list[str]:
        return [str(ROLE_LABELS.get(n, n)) for n in sorted(self.user.role_names())]
