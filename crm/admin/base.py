"""Building blocks every admin module uses (the crm's and the apps'): confirmed bulk actions,
business-unit scoping, lists that stay fast on big tables, read-only history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.functional import cached_property

from crm.selectors.customers import estimated_row_count


def confirm_action(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    action: str,
    title: Any,
    question: Any,
) -> TemplateResponse | None:
    """Render a confirmation page for a bulk action; ``None`` once the user has confirmed."""
    if request.POST.get("confirmed") == "yes":
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "question": question,
        "objects": queryset,
        "action": action,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)


class ScopedAdminMixin:
    """Admin lists obey the same business-unit policy as every other screen."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)  # type: ignore[misc]
        return qs.visible_to(request.user) if hasattr(qs, "visible_to") else qs


class EstimatedCountPaginator(Paginator):
    """An unfiltered list shows PostgreSQL's row estimate instead of counting a big table."""

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        query = getattr(self.object_list, "query", None)
        if query is not None and not query.where:
            estimate = estimated_row_count(self.object_list.model)  # type: ignore[union-attr]
            if estimate > 10000:
                return estimate
        return super().count


class BigTableAdmin(admin.ModelAdmin[Any]):
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50


class ReadOnlyAdmin(BigTableAdmin):
    """History: viewable, never edited by hand (services write it)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
