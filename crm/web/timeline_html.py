"""The 360 view's timeline lines and its filter's options as HTML made here (f-strings over
``esc``, as the account page's contact rows): the template loop over 25 entries, with an
``{% if %}`` chain, a ``{% with %}`` and a dozen lookups each, was the largest part of the
360 view's rendering. The markup is the template's (``crm/customers/_tab.html`` before):
the same elements, attributes and text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.template.backends.utils import csrf_input
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from crm.selectors import TimelineEntry
from crm.web.components import esc
from crm.web.icons import icon_html as icon


def note_pin_form(request: HttpRequest, customer_pk: int, note: Any, *, pin: bool) -> str:
    """The pin / unpin button of a note (``crm/customers/_note_pin.html``)."""
    url = reverse("customer-note-pin", args=[customer_pk, note.pk])
    label = esc(_("Pin") if pin else _("Unpin"))
    return (
        f'<form method="post" action="{url}" class="m-0"\n'
        f'      hx-post="{url}" hx-target="#customer-tab" hx-swap="innerHTML">\n'
        f"  {csrf_input(request)}"
        f'<input type="hidden" name="pinned" value="{"1" if pin else "0"}">\n'
        '  <button type="submit" class="btn btn-sm btn-ghost-secondary text-nowrap" '
        f'data-testid="{"note-pin" if pin else "note-unpin"}">{icon("pin")}{label}</button>\n'
        "</form>\n"
    )


def timeline_html(
    request: HttpRequest, entries: Iterable[TimelineEntry], customer: Any, *, can_pin: bool
) -> SafeString:
    """The ``<li>`` of each entry (display values from ``timeline.timeline_entries``)."""
    cancelled = esc(_("cancelled / refunded"))
    pinned = f"{icon('pin')}{esc(_('pinned'))}"
    out = []
    for entry in entries:
        kind = entry.type  # type: ignore[attr-defined]
        item = entry.item
        if entry.kind == "transaction":
            unit = item.business_unit
            if item.kind == "cancellation":
                badge = (
                    ' <span class="badge bg-orange-lt" data-testid="cancellation-badge">'
                    f"{cancelled}</span>"
                )
            elif item.status != "completed":
                badge = f' <span class="badge bg-yellow-lt">{esc(item.get_status_display())}</span>'
            else:
                badge = ""
            red = " text-red" if item.amount < 0 else ""
            body = (
                f'<h4 class="mb-1">{esc(kind.label)} <span class="badge bg-secondary-lt ms-1" '
                f'title="{esc(unit.name)}">{esc(unit.code)}</span>{badge}</h4>\n'
                f'            <p class="mb-0"><span class="fw-medium font-monospace{red}" '
                f'data-testid="timeline-amount">{esc(entry.amount)}</span>\n'  # type: ignore[attr-defined]
                f'              <span class="text-secondary">· {esc(unit.name)} · '
                f"{esc(entry.source)} · {esc(item.get_channel_display())} · "  # type: ignore[attr-defined]
                f'<span class="font-monospace small">{esc(item.external_id)}</span></span></p>\n'
            )
        elif entry.kind == "note":
            form = ""
            if can_pin:
                form = note_pin_form(request, customer.pk, item, pin=item.pinned_at is None)
            actor = entry.actor_name  # type: ignore[attr-defined]
            body = (
                f'<h4 class="mb-1">{esc(kind.label)}'
                + (f' <span class="badge bg-yellow-lt">{pinned}</span>' if item.pinned_at else "")
                + "</h4>\n"
                '            <div class="d-flex gap-2">\n'
                '              <p class="mb-0 flex-fill text-break customer-note-text" '
                f'data-testid="note">{linebreaksbr(item.text, autoescape=True)}</p>\n'
                f"              {form}\n"
                "            </div>\n"
                + (
                    f'            <p class="text-secondary small mb-0">{esc(actor)}</p>\n'
                    if actor
                    else ""
                )
            )
        else:
            unit = item.business_unit
            actor = entry.actor_name  # type: ignore[attr-defined]
            body = (
                f'<h4 class="mb-1">{esc(kind.label)}'
                + (
                    f' <span class="badge bg-secondary-lt ms-1">{esc(unit.code)}</span>'
                    if unit
                    else ""
                )
                + "</h4>\n"
                f'            <p class="text-secondary mb-0">{esc(entry.text)}'  # type: ignore[attr-defined]
                 + (f" · {esc(actor)}" if actor else "") + "</p>\n"
            )
        out.append(
            f'      <li class="timeline-event" data-testid="timeline-event" '
            f'data-type="{esc(kind.code)}">\n'
            f'        <div class="timeline-event-icon bg-{esc(kind.color)}-lt">'
            f"{icon(kind.icon)}</div>\n"
            '        <div class="card timeline-event-card">\n'
            '          <div class="card-body">\n'
            '            <div class="text-secondary float-end small text-nowrap">'
            f"{esc(entry.when)}</div>\n"  # type: ignore[attr-defined]
            f"            {body}"
            "          </div>\n"
            "        </div>\n"
            "      </li>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 (every value escaped)


def options_html(options: Iterable[tuple[Any, Any]], selected: Any) -> SafeString:
    """``<option>`` elements of ``(value, label)`` pairs, the ``selected`` one marked."""
    return mark_safe(  # noqa: S308 (every value escaped)
        "".join(
            f'<option value="{esc(value)}"{" selected" if value == selected else ""}>'
            f"{esc(label)}</option>"
            for value, label in options
        )
    )
