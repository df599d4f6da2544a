"""Admin for saved import column mappings (read and tidied here; made in the import screens)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from crm.models import ImportMapping


@admin.register(ImportMapping)
class ImportMappingAdmin(admin.ModelAdmin[ImportMapping]):
    list_display = [
        "name",
        "business_unit",
        "kind",
        "decimal_mark",
        "time_zone",
        "currency",
        "created_by",
        "updated_at",
    ]
    list_filter = ["kind", "business_unit", "decimal_mark", "time_zone"]
    search_fields = ["name", "business_unit__code", "business_unit__name"]
    list_select_related = ["business_unit", "created_by"]
    autocomplete_fields = ["business_unit"]
    raw_id_fields = ["created_by"]
    readonly_fields = ["header_signature", "created_by", "created_at", "updated_at"]
    ordering = ["business_unit__code", "kind", "name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # the same business-unit policy as every screen
        return super().get_queryset(request).visible_to(request.user)  # type: ignore[attr-defined]
