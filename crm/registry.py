"""Extension points: apps contribute navigation, search results, dashboard cards and URL
routes from their own ``AppConfig.ready()``, so that dependencies keep pointing to ``crm``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.urls import URLPattern, URLResolver, include, path


@dataclass(frozen=True)
class NavItem:
    key: str
    label: Any
    url_name: str
    icon: str = "circle"
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class SearchResult:
    title: str
    url: str
    subtitle: str = ""
    badge: str = ""


@dataclass(frozen=True)
class SearchProvider:
    key: str
    label: Any
    search: Callable[[Any, str, int], list[SearchResult]]
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class DashboardCard:
    key: str
    title: Any
    template: str
    context: Callable[[Any], dict[str, Any]] = field(default=lambda user: {})
    permission: str | None = None
    roles: frozenset[str] | None = None  # None: every role
    order: int = 100
    width: int = 6  # grid columns out of 12


_nav: dict[str, NavItem] = {}
_search: dict[str, SearchProvider] = {}
_cards: dict[str, DashboardCard] = {}


def register_nav(item: NavItem) -> None:
    _nav[item.key] = item


def register_search(provider: SearchProvider) -> None:
    _search[provider.key] = provider


def register_card(card: DashboardCard) -> None:
    _cards[card.key] = card


def _allowed(user: Any, permission: str | None) -> bool:
    return permission is None or user.has_perm(permission)


def nav_items(user: Any) -> list[NavItem]:
    return sorted((i for i in _nav.values() if _allowed(user, i.permission)), key=lambda i: i.order)


def search_providers(user: Any) -> list[SearchProvider]:
    return sorted(
        (p for p in _search.values() if _allowed(user, p.permission)), key=lambda p: p.order
    )


def dashboard_cards(user: Any, roles: set[str]) -> list[DashboardCard]:
    def shown(card: DashboardCard) -> bool:
        if not _allowed(user, card.permission):
            return False
        return card.roles is None or user.is_superuser or bool(card.roles & roles)

    return sorted((c for c in _cards.values() if shown(c)), key=lambda c: c.order)


def _app_routes(module: str, prefix_fmt: str) -> list[URLPattern | URLResolver]:
    routes: list[URLPattern | URLResolver] = []
    for config in apps.get_app_configs():
        if config.name == "crm" or Path(config.path).parent != _project_root():
            continue
        name = f"{config.name}.{module}"
        package = name.rsplit(".", 1)[0]
        if importlib.util.find_spec(package) and importlib.util.find_spec(name):
            routes.append(path(prefix_fmt.format(label=config.label), include(name)))
    return routes


def _project_root() -> Path:
    from django.conf import settings

    return Path(settings.BASE_DIR)


def api_routes() -> list[URLPattern | URLResolver]:
    """``<app>/api/urls.py`` of every project app, mounted under ``/api/v1/<app>/``."""
    return _app_routes("api.urls", "{label}/")


def web_routes() -> list[URLPattern | URLResolver]:
    """``<app>/web/urls.py`` of every project app, mounted under ``/<app>/``."""
    return _app_routes("web.urls", "{label}/")


# --- The customer master's extension points ------------------------------------------------


@dataclass(frozen=True)
class CustomerPanel:
    """A section of the 360-degree view contributed by an app.

    ``context(user, customer)`` returns the template's context; it must run a constant number
    of queries whatever the customer's history (paginate, aggregate, never loop over rows).
    """

    key: str
    title: Any
    template: str
    context: Callable[[Any, Any], dict[str, Any]]
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class MergeHandler:
    """Moves an app's rows from a merged customer to the survivor; returns how many moved.

    Called by ``merge_customers`` inside its transaction, after both customers are locked.
    """

    key: str
    label: Any
    move: Callable[..., int]


@dataclass(frozen=True)
class EventType:
    """A kind of timeline entry. ``describe(event, customer)``, when given, writes the
    entry's text in the reader's language from ``event.data`` (the stored ``summary`` is in
    the writer's language); it must not query."""

    code: str
    label: Any
    icon: str = "point"
    color: str = "secondary"
    describe: Callable[[Any, Any], str] | None = None


_panels: dict[str, CustomerPanel] = {}
_merge_handlers: dict[str, MergeHandler] = {}
_event_types: dict[str, EventType] = {}


def register_panel(panel: CustomerPanel) -> None:
    _panels[panel.key] = panel


def customer_panels(user: Any) -> list[CustomerPanel]:
    return sorted(
        (p for p in _panels.values() if _allowed(user, p.permission)), key=lambda p: p.order
    )


def register_merge_handler(handler: MergeHandler) -> None:
    _merge_handlers[handler.key] = handler


def merge_handlers() -> list[MergeHandler]:
    return list(_merge_handlers.values())


def register_event_type(event_type: EventType) -> None:
    _event_types[event_type.code] = event_type


def event_types() -> dict[str, EventType]:
    return dict(_event_types)


def event_type(code: str) -> EventType:
    return _event_types.get(code) or EventType(code, code)
