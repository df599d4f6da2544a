"""The board's and the forecast's filters, read from the query string: whose opportunities
("mine", or the team's with a rep and a unit), the expected-close period and the currency.
Values outside what the user may see are ignored (scoping itself stays in ``visible_to``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.selectors import PipelineFilter
from crm.models import BusinessUnit, User
from crm.money import SYMBOLS
from crm.policy import visible_unit_ids

PERIODS = {
    "this_month": _("This month"),
    "next_month": _("Next month"),
    "this_quarter": _("This quarter"),
    "next_quarter": _("Next quarter"),
    "this_year": _("This year"),
}
CURRENCIES = tuple(SYMBOLS)
PARAMS = ("view", "rep", "bu", "period", "currency")


def _month_start(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_bounds(period: str, today: date) -> tuple[date | None, date | None]:
    """First and last day of ``period`` around ``today`` (``None``, ``None``: any date)."""
    if period in ("this_month", "next_month"):
        start = _month_start(today, 0 if period == "this_month" else 1)
    elif period in ("this_quarter", "next_quarter"):
        quarter = _month_start(today, -((today.month - 1) % 3))
        start = _month_start(quarter, 0 if period == "this_quarter" else 3)
    elif period == "this_year":
        return date(today.year, 1, 1), date(today.year, 12, 31)
    else:
        return None, None
    months = 1 if period.endswith("month") else 3
    return start, _month_start(start, months) - timedelta(days=1)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def leads_a_team(user: Any) -> bool:
    """Managers (and admins) open the team's board first; reps their own."""
    return visible_unit_ids(user) is None or user.has_perm("accounts.assign_account_owner")


@dataclass
class BoardFilters:
    view: str
    rep: int | None
    bu: int | None
    period: str
    currency: str
    filter: PipelineFilter
    units: list[BusinessUnit] = field(default_factory=list)
    reps: list[User] = field(default_factory=list)

    @property
    def query(self) -> str:
        """The filters as a query string (for links and the move forms' actions)."""
        values = {
            "view": self.view,
            "rep": self.rep or "",
            "bu": self.bu or "",
            "period": self.period,
            "currency": self.currency,
        }
        return urlencode({k: v for k, v in values.items() if v})

    @property
    def periods(self) -> list[tuple[str, Any]]:
        return list(PERIODS.items())

    @property
    def currencies(self) -> tuple[str, ...]:
        return CURRENCIES


def read_filters(params: QueryDict, user: Any, *, choices: bool = True) -> BoardFilters:
    """The filters in ``params``; ``choices`` also reads the units and reps to pick from
    (two queries, for the filter bar)."""
    view = params.get("view") or ("team" if leads_a_team(user) else "mine")
    view = view if view in ("mine", "team") else "mine"
    unit_ids = visible_unit_ids(user)
    units: list[BusinessUnit] = []
    reps: list[User] = []
    if choices:
        unit_qs = BusinessUnit.objects.order_by("code")
        units = list(unit_qs if unit_ids is None else unit_qs.filter(pk__in=unit_ids))
        if view == "team":
            rep_qs = User.objects.filter(is_active=True).order_by("username")
            if unit_ids is not None:
                rep_qs = rep_qs.filter(business_units__in=unit_ids).distinct()
            reps = list(rep_qs.only("username", "first_name", "last_name"))
    bu = _int(params.get("bu"))
    if bu is not None and unit_ids is not None and bu not in unit_ids:
        bu = None
    rep = _int(params.get("rep")) if view == "team" else None
    period = params.get("period", "")
    period = period if period in PERIODS else ""
    currency = (params.get("currency") or "CNY").upper()
    currency = currency if currency in CURRENCIES else "CNY"
    close_from, close_to = period_bounds(period, timezone.localdate())
    return BoardFilters(
        view=view,
        rep=rep,
        bu=bu if view == "team" else None,
        period=period,
        currency=currency,
        filter=PipelineFilter(
            currency=currency,
            owner_id=user.pk if view == "mine" else rep,
            business_unit_id=bu if view == "team" else None,
            close_from=close_from,
            close_to=close_to,
        ),
        units=units,
        reps=reps,
    )
