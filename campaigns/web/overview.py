"""The group overview of coupon results: over a period of months (the last twelve by
default), per issuing unit and per month the coupons issued and redeemed, the redemption
rate, the discount given and the revenue of the orders that redeemed, and which units pay
for redemptions at which others (a Sankey beside a table). Charts without inline script
(static/js/campaign_results.js reads json_script blocks)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from campaigns import selectors
from campaigns.selectors.overview import MAX_MONTHS, month_starts

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month(raw: str | None) -> date | None:
    match = _MONTH.match((raw or "").strip())
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        return None
    return date(int(match[1]), int(match[2]), 1)


def _months_back(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def _period(request: HttpRequest) -> tuple[date, date, str]:
    """``(first day, last day, problem)`` of the months asked for (``?from=2026-01&to=
    2026-12``); the last twelve months when none are given."""
    this_month = timezone.localdate().replace(day=1)
    last = _month(request.GET.get("to")) or this_month
    first = _month(request.GET.get("from")) or _months_back(last, 11)
    problem = ""
    if first > last:
        first, last = last, first
        problem = _("The period's first month came after its last: they were swapped.")
    if len(month_starts(first, last)) >= MAX_MONTHS:
        first = _months_back(last, MAX_MONTHS - 1)
        problem = _("The overview covers at most %(n)d months: the period was shortened.") % {
            "n": MAX_MONTHS
        }
    end = _months_back(last, -1) - timedelta(days=1)
    return first, end, problem


def _main_currency(totals: dict[str, Any]) -> str:
    return max(totals, key=lambda c: totals[c]) if totals else "CNY"


@require_GET
@permission_required("campaigns.view_campaign", raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    start, end, problem = _period(request)
    figures = selectors.group_overview(user=request.user, start=start, end=end)
    currency = _main_currency(figures.discount)
    context = {
        "overview": figures,
        "currency": currency,
        "from": start.strftime("%Y-%m"),
        "to": end.strftime("%Y-%m"),
        "problem": problem,
        "empty": not figures.issued and not figures.pairs,
        "months_data": [
            {
                "day": m.month.strftime("%Y-%m"),
                "issued": m.issued,
                "redeemed": m.redeemed,
                "discount": str(m.discount.get(currency, 0)),
            }
            for m in figures.months
        ],
        "units_data": [
            {"name": u.unit, "issued": u.issued, "redeemed": u.redeemed, "rate": round(u.rate, 1)}
            for u in figures.units
        ],
        "pairs_data": [
            {"source": p.funder, "target": p.redeemer, "amount": str(p.amount)}
            for p in figures.pairs
            if p.currency == currency
        ],
    }
    return render(request, "campaigns/overview.html", context)
