"""``{% load workspace %}{% saved_views "crm.customers" %}``: the saved-views component of a
registered list (``crm.registry.register_list``), in one line of the list's template."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("components/saved_views.html", takes_context=True)
def saved_views(context: template.Context, list_key: str) -> dict[str, Any]:
    from crm import services
    from crm.web.workspace import component_context

    request = context["request"]
    spec = services.known_list(list_key)
    query = services.sanitize_query(spec, request.GET)
    return {
        **component_context(request, spec, query),
        "csrf_token": context.get("csrf_token"),
    }
