"""Helpers behind the shared template components: pagination and sorting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


def paginate(
    request: HttpRequest, items: QuerySet[Any] | Sequence[Any], per_page: int = 25
) -> Page:
    """The requested page; an out-of-range or malformed page number gives the nearest page."""
    paginator = Paginator(items, per_page)
    try:
        return paginator.page(request.GET.get("page", 1))
    except PageNotAnInteger:
        return paginator.page(1)
    except EmptyPage:
        return paginator.page(paginator.num_pages)


def sort_param(request: HttpRequest, allowed: Sequence[str], default: str) -> str:
    """``?sort=field`` or ``?sort=-field``, limited to ``allowed`` (else ``default``)."""
    value = request.GET.get("sort", default)
    return value if value.lstrip("-") in allowed else default
