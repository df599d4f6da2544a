"""The managers' screens: the team board (counts per pool and status, per rep with overdue
follow-ups) and the funnel with channel ROI (ECharts and a table)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from crm.models import BusinessUnit
from leads import selectors
from leads.models import LeadSource
from leads.web.common import STATUS_COLORS, person
from leads.web.queries import team_board

MAX_DAYS = 366


def _unit(request: HttpRequest) -> tuple[list[BusinessUnit], BusinessUnit | None]:
    units = list(BusinessUnit.objects.visible_to(request.user).order_by("code"))
    raw = request.GET.get("unit", "")
    chosen = next((u for u in units if str(u.pk) == raw), None)
    return units, chosen


def _unit_ids(units: list[BusinessUnit], chosen: BusinessUnit | None) -> set[int]:
    return {chosen.pk} if chosen else {u.pk for u in units}


@require_GET
@permission_required("leads.manage_lead", raise_exception=True)
def board(request: HttpRequest) -> HttpResponse:
    units, chosen = _unit(request)
    by = "rep" if request.GET.get("by") == "rep" else "status"
    data = team_board(user=request.user, unit_ids=_unit_ids(units, chosen))
    return render(
        request,
        "leads/board.html",
        {
            "units": units,
            "unit": chosen,
            "by": by,
            "board": data,
            "status_colors": STATUS_COLORS,
            "reps": [
                {
                    "row": r,
                    "name": person(r.user),
                    "cells": [r.counts.get(value, 0) for value, _label in data.statuses],
                }
                for r in data.reps
            ],
            "pools": [
                {
                    "pool": pool,
                    "cells": [counts.get(value, 0) for value, _label in data.statuses],
                    "total": total,
                }
                for pool, counts, total in data.pools
            ],
            "totals": [data.totals.get(value, 0) for value, _label in data.statuses],
        },
    )


def _date(raw: str | None, default: date) -> tuple[date, bool]:
    if not raw:
        return default, True
    try:
        return date.fromisoformat(raw), True
    except ValueError:
        return default, False


@require_GET
@permission_required("leads.manage_lead", raise_exception=True)
def funnel_page(request: HttpRequest) -> HttpResponse:
    """The cohort of the period through the stages (``leads.selectors.funnel`` by source)
    and the channel ROI (``leads.selectors.channel_roi``): spend, cost per lead and per
    conversion, revenue of the converted customers, ROI."""
    units, chosen = _unit(request)
    today = timezone.localdate()
    default_start = (today.replace(day=1) - timedelta(days=62)).replace(day=1)
    start, ok_start = _date(request.GET.get("start"), default_start)
    end, ok_end = _date(request.GET.get("end"), today)
    errors = []
    if not ok_start or not ok_end:
        errors.append(_("Give the dates as YYYY-MM-DD."))
    if start > end:
        errors.append(_("The period must start before it ends."))
        start, end = end, start
    if (end - start).days > MAX_DAYS:
        errors.append(_("Show at most a year at a time; the period was shortened."))
        start = end - timedelta(days=MAX_DAYS)
    unit_id = chosen.pk if chosen else None
    by_source = selectors.funnel(
        user=request.user, date_from=start, date_to=end, by="source", unit_id=unit_id
    )
    channels = selectors.channel_roi(
        user=request.user, date_from=start, date_to=end, unit_id=unit_id
    )
    sources = dict(LeadSource.choices)
    totals = {
        "leads": sum(r.leads for r in by_source),
        "contacted": sum(r.contacted for r in by_source),
        "qualified": sum(r.qualified for r in by_source),
        "converted": sum(r.converted for r in by_source),
    }
    labels = {
        "leads": _("Leads in"),
        "contacted": _("Contacted"),
        "qualified": _("Qualified"),
        "converted": _("Converted"),
    }
    first = totals["leads"]
    stages = [
        {
            "key": key,
            "label": str(labels[key]),
            "count": n,
            "rate": round(n * 100 / first, 1) if first else None,
        }
        for key, n in totals.items()
    ]
    channel_rows = []
    for c in channels:
        parts = [str(sources.get(c.source, c.source)), c.channel, c.campaign_code]
        channel_rows.append({"row": c, "label": " · ".join(p for p in parts if p)})
    return render(
        request,
        "leads/funnel.html",
        {
            "units": units,
            "unit": chosen,
            "start": start,
            "end": end,
            "errors": errors,
            "stages": stages,
            "sources": [
                {
                    "row": r,
                    "label": sources.get(r.key, r.key),
                    "median": _span(r.median_first_contact),
                }
                for r in by_source
            ],
            "channels": channel_rows,
            "spend_total": sum((c.spend for c in channels), Decimal(0)),
            "revenue_total": sum((c.revenue for c in channels), Decimal(0)),
            "chart_stages": [{"label": s["label"], "count": s["count"]} for s in stages],
            "chart_channels": [
                {
                    "label": c["label"],
                    "leads": c["row"].leads,
                    "converted": c["row"].conversions,
                    "cpc": float(c["row"].cost_per_conversion)
                    if c["row"].cost_per_conversion is not None
                    else None,
                }
                for c in channel_rows
            ],
        },
    )


def _span(value: timedelta | None) -> str:
    """A median time to first contact as people say it: hours under two days, else days."""
    if value is None:
        return ""
    hours = value.total_seconds() / 3600
    if hours < 48:
        return _("%(n)s h") % {"n": f"{hours:.1f}"}
    return _("%(n)s d") % {"n": f"{hours / 24:.1f}"}
