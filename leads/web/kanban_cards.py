"""The rep's kanban cards as HTML, built here rather than by a template include per card (as
the accounts' pipeline cards are: an include per card was most of a board's time). A card
carries no form: the board's one "move to" menu is filled by ``static/js/pipeline.js`` from
the card's ``data-move-url``, and without JavaScript the card's "Move…" link opens a page
with the form (``kanban.move`` answers GET)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from leads.models import Lead, LeadStatus
from leads.web.mine import lead_facts, when


def _follow_badge(facts: dict[str, object], lead: Lead) -> SafeString:
    if lead.next_follow_up_at is None:
        return format_html(
            '<span class="badge bg-secondary-lt" data-testid="card-follow-up">{}</span>',
            _("No follow-up planned"),
        )
    at = {"when": when(lead.next_follow_up_at)}
    if facts["follow_overdue"]:
        color, text = "red", _("Follow-up overdue %(when)s") % at
    elif facts["follow_today"]:
        color, text = "yellow", _("Follow-up today %(when)s") % at
    else:
        color, text = "blue", _("Follow-up %(when)s") % at
    return format_html(
        '<span class="badge bg-{}-lt" data-testid="card-follow-up">{}</span>', color, text
    )


def _recycle_badge(facts: dict[str, object]) -> SafeString | str:
    days = facts["recycle_days"]
    if days is None:
        return ""
    assert isinstance(days, int)
    return format_html(
        '<span class="badge bg-{}-lt" title="{}" data-testid="card-recycle">{}</span>',
        "red" if facts["recycle_warn"] else "secondary",
        _("Back to the pool on %(when)s") % {"when": when(facts["recycle_due"])},
        ngettext("Back to the pool in %(n)s day", "Back to the pool in %(n)s days", days)
        % {"n": days},
    )


def card_html(lead: Lead, *, now: datetime, end_of_day: datetime) -> SafeString:
    facts = lead_facts(lead, now, end_of_day)
    url = str(facts["url"])
    move_url = reverse("leads:move", args=[lead.pk])
    title = lead.name or lead.company
    company = lead.company if lead.name and lead.company else ""
    convert = (
        format_html(
            '<a href="{}#convert" class="text-success" data-testid="card-convert">{}</a>',
            url,
            _("Convert"),
        )
        if lead.status == LeadStatus.QUALIFIED
        else ""
    )
    return format_html(
        '<article class="card card-sm pipeline-card" id="lead-card-{pk}"'
        ' data-testid="pipeline-card" data-card-id="{pk}" data-stage="{status}"'
        ' draggable="true" data-move-url="{move}"><div class="card-body p-2">'
        '<a href="{url}" class="fw-medium d-block text-truncate" data-testid="card-name">{title}'
        "</a>"
        '<div class="small text-secondary text-truncate" data-testid="card-company">{company}'
        "</div>"
        '<div class="small font-monospace" data-testid="card-phone">{phone}</div>'
        '<div class="d-flex flex-wrap gap-1 mt-1">{follow}{recycle}</div>'
        '<div class="d-flex small gap-2 mt-1">{convert}'
        '<a href="{move}" class="ms-auto pipeline-move-open" id="lead-move-open-{pk}"'
        ' data-move-open aria-haspopup="dialog" aria-label="{move_label}"'
        ' data-testid="card-move-open">{move_text}</a></div></div></article>\n',
        pk=lead.pk,
        status=lead.status,
        move=move_url,
        url=url,
        title=title,
        company=company,
        phone=facts["phone"] or "—",
        follow=_follow_badge(facts, lead),
        recycle=_recycle_badge(facts),
        convert=convert,
        move_label=_("Move “%(name)s” to another status") % {"name": title},
        move_text=_("Move…"),
    )


def cards_html(leads: Iterable[Lead], *, now: datetime, end_of_day: datetime) -> SafeString:
    return mark_safe(  # noqa: S308 (format_html above)
        "".join(card_html(lead, now=now, end_of_day=end_of_day) for lead in leads)
    )
