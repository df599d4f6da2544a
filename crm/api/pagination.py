"""Cursor pagination on every list: stable under inserts, no ``COUNT(*)``, no deep offsets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-pk"
    model: type[Model] | None = None

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        """The view's ``ordering`` (a unique field or ending in one), else newest first."""
        self.model = queryset.model
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        """DRF's cursor, its position checked: a cursor is opaque but anyone can forge one, and
        its position goes straight into a ``WHERE``; one that is not a value of the ordering
        field is an invalid cursor (404), never a database error."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None or self.model is None:
            return cursor
        name = self.ordering[0].lstrip("-")
        field = self.model._meta.pk if name == "pk" else self.model._meta.get_field(name)
        try:
            if "\0" in cursor.position:
                raise ValueError(cursor.position)
            value = field.to_python(cursor.position)
            if isinstance(value, datetime) and value.tzinfo is not None:
                value.astimezone(UTC)  # years 1 and 9999 can overflow
        except (ValidationError, ValueError, TypeError, OverflowError):
            raise NotFound(self.invalid_cursor_message) from None
        return cursor
