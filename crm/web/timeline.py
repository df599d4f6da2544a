"""The 360 view's tabs: the timeline as the reader reads it: entries' text written in the reader's
language from their data (source systems by name, customers by number), and the display
values of events, purchases and notes computed once here (the template only prints)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, QueryDict
from django.utils import translation
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm import selectors
from crm.models import NOTE_MAX_LENGTH, Customer
from crm.money import format_money
from crm.registry import event_type, event_types
from crm.selectors import CANCELLATION_TYPE, NOTE_TYPE, PURCHASE_TYPE, TimelineEntry, source_label
from crm.selectors.sources import readable_identity
from crm.web.components import SlicePage, slice_page
from crm.web.timeline_html import options_html, timeline_html

PAGE = 25


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


CREATED_FROM = "Customer created from %(source)s"


def describe_created(event: Any, customer: Any) -> str:
    source = (event.data or {}).get("source") or _source_in_summary(str(event.summary))
    if not source:
        return str(event.summary)
    return _(CREATED_FROM) % {"source": source_label(source)}


@lru_cache(maxsize=8)
def _created_patterns() -> tuple[re.Pattern[str], ...]:
    """``CREATED_FROM`` as each language wrote it, the source captured."""
    patterns = []
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            text = _(CREATED_FROM)
        head, _sep, tail = text.partition("%(source)s")
        patterns.append(re.compile(f"^{re.escape(head)}(?P<source>\\S+){re.escape(tail)}$"))
    return tuple(patterns)


def _source_in_summary(summary: str) -> str:
    """The source code in a creation event written before the data kept it."""
    for pattern in _created_patterns():
        match = pattern.match(summary)
        if match:
            return match.group("source")
    return ""


def describe_identities_added(event: Any, customer: Any) -> str:
    data = event.data or {}
    if "source" not in data or not isinstance(data.get("identities"), list):
        return str(event.summary)
    count = len(data["identities"])
    return ngettext(
        "%(count)d identity added from %(source)s",
        "%(count)d identities added from %(source)s",
        count,
    ) % {"count": count, "source": source_label(data["source"])}


def describe_merged(event: Any, customer: Any) -> str:
    from crm.services.merge import merge_summary

    data = event.data or {}
    if not {"loser", "loser_name", "survivor"} <= data.keys():
        return str(event.summary)
    name = data["loser_name"]
    if data.get("loser_name_is_generated"):
        name = _("Unnamed customer (%(identity)s)") % {"identity": readable_identity(name)}
    return merge_summary(
        loser=data["loser"],
        loser_name=name,
        survivor=data["survivor"],
        reason=data.get("reason", ""),
    )


def timeline_entries(entries: list[TimelineEntry], customer: Any) -> list[TimelineEntry]:
    """Display values on each entry: ``when``, ``type`` (its ``EventType``), ``text``."""
    purchase, cancellation, note = (
        event_type(PURCHASE_TYPE),
        event_type(CANCELLATION_TYPE),
        event_type(NOTE_TYPE),
    )
    for entry in entries:
        item = entry.item
        entry.when = localtime(entry.occurred_at).strftime("%Y-%m-%d %H:%M")  # type: ignore[attr-defined]
        if entry.kind == "transaction":
            cancelled = item.kind == "cancellation"
            entry.type = cancellation if cancelled else purchase  # type: ignore[attr-defined]
            entry.amount = format_money(item.amount, item.currency)  # type: ignore[attr-defined]
            entry.source = source_label(item.source)  # type: ignore[attr-defined]
        elif entry.kind == "note":
            entry.type = note  # type: ignore[attr-defined]
            author = item.author
            entry.actor_name = (author.get_full_name() or author.get_username()) if author else ""  # type: ignore[attr-defined]
        else:
            kind = event_type(item.type)
            entry.type = kind  # type: ignore[attr-defined]
            entry.text = kind.describe(item, customer) if kind.describe else item.summary  # type: ignore[attr-defined]
            actor = item.actor
            entry.actor_name = (actor.get_full_name() or actor.get_username()) if actor else ""  # type: ignore[attr-defined]
    return entries


def tab_context(
    request: HttpRequest, customer: Customer, tab: str, *, filters: bool = True
) -> dict[str, Any]:
    """The tab below the figures (timeline or transactions); ``filters=False`` ignores the
    query string (after a note was written: the whole timeline, first page)."""
    context: dict[str, Any] = {"customer": customer, "tab": tab}
    if tab == "transactions":
        transactions = slice_page(
            request, selectors.customer_transactions(user=request.user, customer=customer)
        )
        for t in transactions.object_list:  # display values here: the template only prints
            t.when = localtime(t.occurred_at).strftime("%Y-%m-%d %H:%M")
            t.amount_display = format_money(t.amount, t.currency)
            t.source_name = selectors.source_label(t.source)
        context["transactions"] = transactions
    else:
        context.update(_timeline_context(request, customer, filters=filters))
    return context


def _timeline_context(
    request: HttpRequest, customer: Customer, *, filters: bool = True
) -> dict[str, Any]:
    """Events, purchases and notes in one stream (``selectors.CustomerTimeline``), pinned
    notes above it, the note form."""
    query = request.GET if filters else QueryDict()
    known = event_types()
    may_read_notes = request.user.has_perm("crm.view_customernote")
    if not may_read_notes:
        known.pop(selectors.NOTE_TYPE, None)
    type_ = query.get("type", "")
    type_ = type_ if type_ in known else ""
    unit_id = _int_or_none(query.get("unit"))
    stream = selectors.CustomerTimeline(
        user=request.user,
        customer=customer,
        type=type_,
        business_unit=unit_id,
        notes=may_read_notes,
    )
    if filters:
        entries = slice_page(request, stream)
    else:
        rows = stream[: PAGE + 1]
        entries = SlicePage(object_list=rows[:PAGE], number=1, has_next=len(rows) > PAGE)
    timeline_entries(entries.object_list, customer)
    can_pin = request.user.has_perm("crm.change_customernote")
    kinds = sorted(known.values(), key=lambda e: str(e.label))
    units = selectors.timeline_units(request.user).values_list("pk", "name")
    return {
        "events": entries,
        "events_html": timeline_html(request, entries.object_list, customer, can_pin=can_pin),
        "event_type": type_,
        "event_unit": unit_id,
        "event_type_options": options_html(((e.code, e.label) for e in kinds), type_),
        "unit_options": options_html(units, unit_id),
        "pinned_notes": selectors.pinned_notes(customer)
        if may_read_notes and entries.number == 1
        else [],
        "can_note": request.user.has_perm("crm.add_customernote"),
        "can_pin": can_pin,
        "note_max_length": NOTE_MAX_LENGTH,
    }
