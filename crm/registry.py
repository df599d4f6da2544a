"""Extension points: apps contribute navigation, search results, dashboard cards and URL
routes from their own ``AppConfig.ready()``, so that dependencies keep pointing to ``crm``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import AppConfig, apps
from django.urls import URLPattern, URLResolver, include, path


@dataclass(frozen=True)
class NavItem:
    key: str
    label: Any
    url_name: str
    icon: str = "circle"
    permission: str | None = None
    order: int = 100
    # Other pages (URL names) under this entry: it is shown as the current one there too.
    also: tuple[str, ...] = ()


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
    """A card of the home page (``register_card``), shown to users who hold ``permission``
    and one of ``roles`` (``None``: every role; superusers see every card).

    ``context(user)`` returns the template's context, read as ``ctx`` in ``template``; it
    must run a bounded number of queries whatever the data (the home page pins its query
    count per role). Most cards are work lists: use :func:`work_list_card` and return a
    :class:`WorkList`, which the shared template ``crm/cards/work_list.html`` renders (items,
    total, empty state, "see all" link) so that every app's work looks alike::

        register_card(work_list_card(
            "leads-overdue", _("Overdue leads"), overdue_leads_work,
            permission="leads.view_lead", roles=frozenset({SALES_REP}), order=30,
        ))

        def overdue_leads_work(user) -> WorkList:
            leads = Lead.objects.visible_to(user).overdue()
            return WorkList(
                items=[WorkItem(l.title, reverse("lead-detail", args=[l.pk])) for l in leads[:5]],
                total=leads.count(),
                empty_text=_("No overdue lead."),
                see_all_url=reverse("lead-list") + "?overdue=1",
            )
    """

    key: str
    title: Any
    template: str
    context: Callable[[Any], dict[str, Any]] = field(default=lambda user: {})
    permission: str | None = None
    roles: frozenset[str] | None = None  # None: every role
    order: int = 100
    width: int = 6  # grid columns out of 12


@dataclass(frozen=True)
class WorkItem:
    """One line of a work list: what to open (``url``), a second line, a badge, a time."""

    title: Any
    url: str
    subtitle: Any = ""
    badge: Any = ""
    badge_color: str = "secondary"
    when: Any = None  # an aware datetime, shown in the user's zone
    placeholder: bool = False  # the title is a generated (masked) name, styled as such


@dataclass(frozen=True)
class WorkList:
    """What a work-list card shows: up to a handful of ``items``, how many there are in all
    (``total``; ``None`` when not counted), the text when there is nothing to do, and the
    link to the full list."""

    items: list[WorkItem]
    total: int | None = None
    empty_text: Any = ""
    see_all_url: str = ""
    see_all_label: Any = ""
    icon: str = "inbox"


def work_list_card(
    key: str,
    title: Any,
    build: Callable[[Any], WorkList],
    *,
    permission: str | None = None,
    roles: frozenset[str] | None = None,
    order: int = 100,
    width: int = 6,
) -> DashboardCard:
    """A dashboard card rendering ``build(user)`` with the shared work-list template."""
    return DashboardCard(
        key,
        title,
        "crm/cards/work_list.html",
        lambda user: {"work": build(user)},
        permission=permission,
        roles=roles,
        order=order,
        width=width,
    )


@dataclass(frozen=True)
class ListSpec:
    """A list screen whose filters live in its URL's query string, so that users can save
    them by name (saved views, ``crm.services.save_view``) and export them.

    ``params`` are the filter parameters the list understands; a saved query string keeps
    only those (never paging cursors), without those at their ``defaults``. ``url_name`` is
    the list's route; ``permission`` whoever may open it."""

    key: str
    label: Any
    url_name: str
    params: tuple[str, ...]
    permission: str | None = None
    defaults: tuple[tuple[str, str], ...] = ()  # a parameter at its default is left out


_nav: dict[str, NavItem] = {}
_search: dict[str, SearchProvider] = {}
_cards: dict[str, DashboardCard] = {}
_lists: dict[str, ListSpec] = {}


def register_nav(item: NavItem) -> None:
    _nav[item.key] = item


def register_search(provider: SearchProvider) -> None:
    _search[provider.key] = provider


def register_card(card: DashboardCard) -> None:
    _cards[card.key] = card


def register_list(spec: ListSpec) -> None:
    _lists[spec.key] = spec


def list_spec(key: str) -> ListSpec | None:
    return _lists.get(key)


def registered_lists() -> dict[str, ListSpec]:
    return dict(_lists)


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
    for config in project_apps():
        if config.name == "crm":
            continue
        name = f"{config.name}.{module}"
        package = name.rsplit(".", 1)[0]
        if importlib.util.find_spec(package) and importlib.util.find_spec(name):
            routes.append(path(prefix_fmt.format(label=config.label), include(name)))
    return routes


def _project_root() -> Path:
    from django.conf import settings

    return Path(settings.BASE_DIR)


def project_apps() -> list[AppConfig]:
    """The project's own apps (crm, accounts, members…), not Django's or a library's."""
    root = _project_root()
    return [c for c in apps.get_app_configs() if Path(c.path).parent == root]


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
    # What the event says of the customer's engagement (``crm/METRICS.md``, engagement
    # stage): "follow", "interaction", "referral", or "" (none).
    engagement: str = ""


ENGAGEMENT_SIGNALS = ("follow", "interaction", "referral")

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


def engagement_event_types() -> dict[str, list[str]]:
    """The registered event types per engagement signal (follow, interaction, referral)."""
    found: dict[str, list[str]] = {signal: [] for signal in ENGAGEMENT_SIGNALS}
    for code, entry in sorted(_event_types.items()):
        if entry.engagement in found:
            found[entry.engagement].append(code)
    return found


# --- Housekeeping ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HousekeepingStep:
    """A clean-up the nightly housekeeping job runs: ``run()`` returns how many things it
    removed, reported under ``key`` in the job's result (labelled ``label``). An app (or a part
    of the crm above the services, such as the imports) registers its own, so that the
    services never import it."""

    key: str
    label: Any
    progress_message: Any
    run: Callable[[], int]
    order: int = 100


_housekeeping: dict[str, HousekeepingStep] = {}


def register_housekeeping(step: HousekeepingStep) -> None:
    _housekeeping[step.key] = step


def housekeeping_steps() -> list[HousekeepingStep]:
    return sorted(_housekeeping.values(), key=lambda s: (s.order, s.key))


# --- Stored transactions -------------------------------------------------------------------

_transaction_hooks: dict[str, Callable[[list[int]], None]] = {}


def register_transactions_hook(key: str, hook: Callable[[list[int]], None]) -> None:
    """``hook(ids)`` runs after the commit of every ingestion that stored transactions of
    known customers (the ids of those transactions): an app reacts to orders (the loyalty
    programme earns points) without the master knowing it. Enqueue a retry-safe task there."""
    _transaction_hooks[key] = hook


def notify_transactions_stored(ids: list[int]) -> None:
    for hook in list(_transaction_hooks.values()):
        hook(ids)


# --- Recorded timeline events --------------------------------------------------------------

_event_hooks: dict[str, Callable[[Any], None]] = {}


def register_event_hook(key: str, hook: Callable[[Any], None]) -> None:
    """``hook(event)`` runs inside the transaction of every ``record_event`` (the new
    ``TimelineEvent``): an app reacts to what happened to a customer (campaigns' trigger
    rules) without the master knowing it. It must be cheap and must not query for events it
    ignores; react with ``transaction.on_commit`` and a retry-safe task."""
    _event_hooks[key] = hook


def notify_event_recorded(event: Any) -> None:
    for hook in list(_event_hooks.values()):
        hook(event)
