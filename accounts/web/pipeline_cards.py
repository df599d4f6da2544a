"""The board's cards as HTML, built here rather than by a template include per card: a
manager's board shows ~300 of them and the per-card include (with its own "move to" form)
was most of the page's time. A card carries no form: one shared move menu on the board
(``board.html``) is filled by ``pipeline.js`` with the card's id, and without JavaScript the
card's "Move…" link opens a page with the form (``pipeline.move`` answers GET)."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.selectors import Card
from crm.money import format_money
from crm.templatetags.crm_tags import icon
from crm.web.components import customer_name_html, esc


def _prefix(name: str, *suffix: str) -> str:
    """The URL of ``name`` for id 0, cut before the id (one ``reverse`` for every card)."""
    url = reverse(name, args=[0])
    return url[: -len("/".join(("0", *suffix)) + "/")]


def card_html(cards: Iterable[Card], *, can_move: bool, query: str) -> None:
    """Set ``html`` on every card of ``cards`` (f-strings over ``esc``: ``format_html`` per
    card and value was a third of the board's time)."""
    detail = _prefix("accounts:opportunity-detail")
    move = _prefix("accounts:opportunity-move", "move")
    close_label = esc(_("Expected close"))
    move_label = esc(_("Move…"))
    user_icon = icon("user", "icon-sm")
    query = esc(query)
    move_aria = _("Move “%(name)s” to another stage")
    language = get_language()
    names: dict[int, str] = {}
    for card in cards:
        pk = card.pk
        owner_name = names.get(card.owner_id)
        if owner_name is None:
            owner_name = names[card.owner_id] = esc(card.owner_name)
        move_url = f"{move}{pk}/move/?{query}"
        drag = action = ""
        if can_move:
            drag = f' draggable="true" data-move-url="{move_url}"'
            label = esc(move_aria % {"name": card.name})
            action = (
                f'<a href="{move_url}" class="ms-auto pipeline-move-open" id="move-open-{pk}"'
                f' data-move-open aria-haspopup="dialog" aria-label="{label}"'
                f' data-testid="card-move-open">{move_label}</a>'
            )
        close = card.expected_close.strftime("%Y-%m-%d") if card.expected_close else "—"
        amount = esc(format_money(card.amount, card.currency, language=language))
        card.html = (
            f'<article class="card card-sm pipeline-card" id="opp-{pk}" data-testid="pipeline-card"'
            f' data-card-id="{pk}" data-stage="{card.stage_id}"{drag}>'
            '<div class="card-body p-2">'
            f'<a href="{detail}{pk}/" class="fw-medium d-block text-truncate"'
            f' data-testid="card-name">{esc(card.name)}</a>'
            f'<div class="small text-truncate">{customer_name_html(card)}</div>'
            '<div class="d-flex small mt-1">'
            f'<strong data-testid="card-amount">{amount}'
            f'</strong><span class="ms-auto text-secondary" title="{close_label}">{close}</span>'
            '</div><div class="d-flex small text-secondary gap-1"><span class="text-truncate">'
            f"{user_icon} {owner_name}</span>{action}</div></div></article>\n"
        )


def cards_html(cards: list[Card]) -> SafeString:
    return mark_safe("".join(c.html for c in cards))  # noqa: S308 (escaped above)
