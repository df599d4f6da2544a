"""Saved views: save the filters of any registered list by name, open, rename, delete.

The list's template includes the component in one line (``{% saved_views "crm.customers" %}``
from ``crm.templatetags.workspace``); these endpoints take the ``list_key``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm import selectors, services
from crm.errors import DomainError
from crm.models import SavedView
from crm.registry import ListSpec, registered_lists


def component_context(
    request: HttpRequest, spec: ListSpec, query: str, **extra: Any
) -> dict[str, Any]:
    """What ``components/saved_views.html`` shows for ``spec`` (one query)."""
    views = list(selectors.saved_views(user=request.user, list_key=spec.key))
    current = next((v for v in views if query and v.query == query), None)
    list_url = reverse(spec.url_name)
    for view in views:
        view.url = f"{list_url}?{view.query}" if view.query else list_url  # type: ignore[attr-defined]
    return {
        "list_key": spec.key,
        "list_url": list_url,
        "saved": views,
        "current_view": current,
        "query": query,
        "dom_id": "saved-views-" + spec.key.replace(".", "-"),
        **extra,
    }


def _spec_or_404(request: HttpRequest, list_key: str) -> ListSpec:
    try:
        return services.known_list(list_key, request.user)
    except services.UnknownList as exc:
        raise Http404 from exc


@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    spec = _spec_or_404(request, request.POST.get("list_key", ""))
    raw_query = request.POST.get("query", "")
    query = services.sanitize_query(spec, raw_query)
    name = request.POST.get("name", "")
    try:
        view = services.save_view(user=request.user, list_key=spec.key, name=name, query=query)
    except DomainError as exc:
        error = {"field": exc.field, "message": exc.message, "name": name}
        if request.htmx:
            context = component_context(request, spec, query, error=error)
            return render(request, "components/saved_views.html", context)
        return _manage(request, save_error=error, save_spec=spec, save_query=query, status=400)
    message = _("View “%(name)s” saved.") % {"name": view.name}
    if request.htmx:
        context = component_context(request, spec, view.query, saved_message=message)
        return render(request, "components/saved_views.html", context)
    messages.success(request, message)
    url = reverse(spec.url_name)
    return redirect(f"{url}?{view.query}" if view.query else url)


@require_GET
def saved_view_list(request: HttpRequest) -> HttpResponse:
    return _manage(request)


def _manage(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    lists = {
        key: spec
        for key, spec in registered_lists().items()
        if spec.permission is None or request.user.has_perm(spec.permission)
    }
    views = [v for v in selectors.saved_views(user=request.user) if v.list_key in lists]
    for view in views:
        spec = lists[view.list_key]
        url = reverse(spec.url_name)
        view.url = f"{url}?{view.query}" if view.query else url  # type: ignore[attr-defined]
        view.list_label = spec.label  # type: ignore[attr-defined]
    return render(request, "crm/saved_views.html", {"views": views, **extra}, status=status)


def _own_view(request: HttpRequest, pk: int) -> SavedView:
    view = get_object_or_404(SavedView, pk=pk, user=request.user)
    _spec_or_404(request, view.list_key)
    return view


@require_POST
def saved_view_rename(request: HttpRequest, pk: int) -> HttpResponse:
    view = _own_view(request, pk)
    name = request.POST.get("name", "")
    try:
        services.rename_view(view=view, name=name)
    except DomainError as exc:
        error = {"view": view.pk, "message": exc.message, "name": name}
        return _manage(request, rename_error=error, status=400)
    messages.success(request, _("View renamed to “%(name)s”.") % {"name": view.name})
    return redirect("saved-view-list")


@require_POST
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = _own_view(request, pk)
    services.delete_view(view=view)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect("saved-view-list")
