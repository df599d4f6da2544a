"""Helpers behind the shared template components: pagination and sorting, and the escaping
of the rows a view builds itself."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass
class SlicePage:
    """A page read without counting: ``per_page + 1`` rows say whether another follows.

    For sections that grow with a customer's history (the 360 view's timeline and
    transactions): a count over 10,000 rows costs more than the page it numbers."""

    object_list: list[Any]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def slice_page(
    request: HttpRequest, items: QuerySet[Any] | Sequence[Any], per_page: int = 25
) -> SlicePage:
    """``?page=n`` of ``items`` in one query; a page past the end gives the first page."""
    try:
        number = max(1, int(request.GET.get("page", 1)))
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * per_page
    rows = list(items[offset : offset + per_page + 1])
    if not rows and number > 1:
        number, rows = 1, list(items[: per_page + 1])
    return SlicePage(object_list=rows[:per_page], number=number, has_next=len(rows) > per_page)


def esc(value: object) -> str:
    """``conditional_escape`` for HTML a view builds row by row with f-strings (then one
    ``mark_safe`` over the rows): the same text, without ``format_html``'s lazy-argument
    checks around every value, which were most of the time of a board's 300 cards or an
    account page's 180 contact rows. Safe strings pass unchanged."""
    if hasattr(value, "__html__"):
        return value.__html__()  # type: ignore[no-any-return]
    return html.escape(str(value))


def customer_name_html(customer: object) -> str:
    """A customer's name as HTML: the name, or for a generated one (a masked identity) a
    styled "Unnamed customer" placeholder followed by that identity (``{% customer_name %}``,
    and the customer list's rows, which compute it in the view)."""
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext

    from crm.selectors.sources import readable_identity

    name = getattr(customer, "display_name", "")
    if not getattr(customer, "name_is_generated", False):
        return mark_safe(esc(name))  # noqa: S308 (escaped)
    return mark_safe(  # noqa: S308 (escaped)
        f'<span class="customer-unnamed" data-testid="unnamed">{esc(gettext("Unnamed customer"))}'
        f'</span> <span class="customer-unnamed-id">{esc(readable_identity(name))}</span>'
    )
