"""The board's cards as HTML, built here rather than by a template include per card: a
manager's board shows ~300 of them and the per-card include (with its own "move to" form)
was most of the page's time. A card carries no form: one shared move menu on the board
(``board.html``) is filled by ``pipeline.js`` with the card's id, and without JavaScript the
card's "Move…" link opens a page with the form (``pipeline.move`` answers GET)."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.models import Opportunity
from crm.money import format_money
from crm.templatetags.crm_tags import icon
from crm.web.components import customer_name_html


def _prefix(name: str, *suffix: str) -> str:
    """The URL of ``name`` for id 0, cut before the id (one ``reverse`` for every card)."""
    url = reverse(name, args=[0])
    return url[: -len("/".join(("0", *suffix)) + "/")]


def card_html(cards: Iterable[Opportunity], *, can_move: bool, query: str) -> None:
    """Set ``html`` on every card of ``cards``."""
    detail = _prefix("accounts:opportunity-detail")
    move = _prefix("accounts:opportunity-move", "move")
    labels = {
        "close": _("Expected close"),
        "move": _("Move…"),
        "user": icon("user", "icon-sm"),
    }
    names: dict[int, str] = {}
    for card in cards:
        owner = card.owner
        owner_name = names.get(owner.pk)
        if owner_name is None:
            owner_name = names[owner.pk] = owner.get_full_name() or owner.get_username()
        move_url = f"{move}{card.pk}/move/?{query}"
        drag = (
            format_html(' draggable="true" data-move-url="{}"', move_url)
            if can_move
            else SafeString("")
        )
        action = (
            format_html(
                '<a href="{}" class="ms-auto pipeline-move-open" id="move-open-{}"'
                ' data-move-open aria-haspopup="dialog" aria-label="{}"'
                ' data-testid="card-move-open">{}</a>',
                move_url,
                card.pk,
                _("Move “%(name)s” to another stage") % {"name": card.name},
                labels["move"],
            )
            if can_move
            else ""
        )
        card.html = format_html(
            '<article class="card card-sm pipeline-card" id="opp-{pk}" data-testid="pipeline-card"'
            ' data-card-id="{pk}" data-stage="{stage}"{drag}><div class="card-body p-2">'
            '<a href="{detail}{pk}/" class="fw-medium d-block text-truncate"'
            ' data-testid="card-name">{name}</a>'
            '<div class="small text-truncate">{account}</div>'
            '<div class="d-flex small mt-1"><strong data-testid="card-amount">{amount}</strong>'
            '<span class="ms-auto text-secondary" title="{close_label}">{close}</span></div>'
            '<div class="d-flex small text-secondary gap-1"><span class="text-truncate">{user}'
            " {owner}</span>{action}</div></div></article>\n",
            pk=card.pk,
            stage=card.stage_id,
            drag=drag,
            detail=detail,
            name=card.name,
            account=mark_safe(customer_name_html(card.account.customer)),  # noqa: S308 (escapes)
            amount=format_money(card.amount, card.currency),
            close_label=labels["close"],
            close=card.expected_close.strftime("%Y-%m-%d") if card.expected_close else "—",
            user=labels["user"],
            owner=owner_name,
            action=action,
        )


def cards_html(cards: list[Opportunity]) -> SafeString:
    return mark_safe("".join(c.html for c in cards))  # noqa: S308 (format_html above)
