"""Admin for source systems (the names of the codes records arrive under) and customer
notes."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.models import CustomerNote, SourceSystem
from crm.selectors import forget_source_names


@admin.register(SourceSystem)
class SourceSystemAdmin(admin.ModelAdmin[SourceSystem]):
    list_display = ["code", "name_zh", "name_en", "business_unit"]
    list_filter = ["business_unit"]
    list_select_related = ["business_unit"]
    search_fields = ["code", "name_zh", "name_en"]
    autocomplete_fields = ["business_unit"]
    ordering = ["code"]

    def save_model(self, request: HttpRequest, obj: SourceSystem, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        forget_source_names()  # this process shows the new name at once, the others soon

    def delete_model(self, request: HttpRequest, obj: SourceSystem) -> None:
        super().delete_model(request, obj)
        forget_source_names()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SourceSystem]) -> None:
        super().delete_queryset(request, queryset)
        forget_source_names()


@admin.register(CustomerNote)
class CustomerNoteAdmin(admin.ModelAdmin[CustomerNote]):
    """Read-only: notes are written and pinned on the 360 view."""

    list_display = ["created_at", "customer", "short_text", "author", "pinned_at"]
    list_filter = [("pinned_at", admin.EmptyFieldListFilter)]
    list_select_related = ["customer", "author"]
    search_fields = ["text"]
    raw_id_fields = ["customer", "author"]
    show_full_result_count = False

    @admin.display(description=_("note"))
    def short_text(self, obj: CustomerNote) -> str:
        return obj.text[:80]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
