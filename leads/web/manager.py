"""The managers' screens: the team board (counts per pool and status, per rep with overdue
follow-ups) and the funnel with channel ROI (ECharts and a table)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from crm.models import BusinessUnit
from leads.models import LeadSource
from leads.web.common import STATUS_COLORS, person
from leads.web.queries import funnel, team_board

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
    data = funnel(user=request.user, start=start, end=end, unit_ids=_unit_ids(units, chosen))
    sources = dict(LeadSource.choices)
    channels: list[dict[str, Any]] = []
    for c in data.channels:
        label = str(sources.get(c.source, c.source)) + (f" · {c.channel}" if c.channel else "")
        channels.append({"row": c, "label": label})
    stages = [{"key": key, "label": str(label), "count": n} for key, label, n in data.stages]
    first = stages[0]["count"] if stages else 0
    for stage in stages:
        stage["rate"] = round(stage["count"] * 100 / first, 1) if first else None
    chart_channels = [
        {
            "label": c["label"],
            "leads": c["row"].leads,
            "converted": c["row"].converted,
            "cpc": float(c["row"].cost_per_conversion)
            if c["row"].cost_per_conversion is not None
            else None,
        }
        for c in channels
    ]
    return render(
        request,
        "leads/funnel.html",
        {
            "units": units,
            "unit": chosen,
            "start": start,
            "end": end,
            "errors": errors,
            "data": data,
            "stages": stages,
            "channels": channels,
            "chart_stages": [{"label": s["label"], "count": s["count"]} for s in stages],
            "chart_channels": chart_channels,
        },
    )
