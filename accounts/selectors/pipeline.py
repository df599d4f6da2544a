"""Reading accounts and the pipeline: the scoped list, per-stage sums, the weighted forecast."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import Coalesce, TruncMonth

from accounts.models import Account, Opportunity, OpportunityStage, OpportunityTotal

GROUPINGS = ("month", "owner", "business_unit")
_ZERO = Decimal("0")
CENT = Decimal("0.01")


def account_list(*, user: Any) -> QuerySet[Account]:
    return (
        Account.objects.visible_to(user)
        .select_related("customer", "owner", "parent__customer")
        .prefetch_related("business_units")
        .order_by("-id")
    )


@dataclass(frozen=True)
class PipelineFilter:
    """What the board and the forecast show: one currency, optionally one rep (``owner_id``),
    one unit, and an expected-close window (both ends included)."""

    currency: str = "CNY"
    owner_id: int | None = None
    business_unit_id: int | None = None
    close_from: date | None = None
    close_to: date | None = None


def pipeline_opportunities(*, user: Any, filters: PipelineFilter) -> QuerySet[Opportunity]:
    """The user's visible opportunities narrowed by ``filters`` (no ordering, no joins)."""
    qs = Opportunity.objects.visible_to(user).filter(currency=filters.currency)
    if filters.owner_id is not None:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.business_unit_id is not None:
        qs = qs.filter(business_unit_id=filters.business_unit_id)
    if filters.close_from is not None:
        qs = qs.filter(expected_close__gte=filters.close_from)
    if filters.close_to is not None:
        qs = qs.filter(expected_close__lte=filters.close_to)
    return qs


def weighted_amount() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("amount") * F("stage__probability") / Decimal(100),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )


def weighted_forecast(
    *,
    user: Any,
    group_by: str = "month",
    currency: str = "CNY",
    filters: PipelineFilter | None = None,
) -> list[dict[str, Any]]:
    """Open opportunities in ``currency``: per group, Σ amount and Σ amount × probability,
    exact Decimals. ``month`` groups by expected close (``None``: no date given)."""
    if group_by not in GROUPINGS:
        raise ValueError(group_by)
    filters = filters or PipelineFilter(currency=currency)
    if _whole_months(filters):
        # From the maintained totals: Σ over (key, stage) rows of Σ amount × probability is
        # the same exact sum as over the opportunities.
        key: Any = {
            "month": F("month"),
            "owner": F("owner_id"),
            "business_unit": F("business_unit_id"),
        }[group_by]
        source: QuerySet[Any] = _totals(user=user, filters=filters)
        count: Any = Coalesce(Sum("count"), 0)
    else:
        key = {
            "month": TruncMonth("expected_close"),
            "owner": F("owner_id"),
            "business_unit": F("business_unit_id"),
        }[group_by]
        source = pipeline_opportunities(user=user, filters=filters)
        count = Count("id")
    rows = (
        source.filter(stage__is_won=False, stage__is_lost=False)
        .annotate(group=key)
        .values("group")
        .annotate(
            count=count,
            total=Coalesce(Sum("amount"), _ZERO),
            weighted=Coalesce(Sum(weighted_amount()), _ZERO),
        )
        .exclude(count=0)
        .order_by(F("group").asc(nulls_last=True))
    )
    return [
        {
            "group": r["group"],
            "count": r["count"],
            "amount": r["total"],
            "weighted": r["weighted"].quantize(CENT, ROUND_HALF_UP),
            "weighted_exact": r["weighted"],
        }
        for r in rows
    ]


def _whole_months(filters: PipelineFilter) -> bool:
    """Whether the close window is whole months (every period the board offers is)."""
    start, end = filters.close_from, filters.close_to
    return (start is None or start.day == 1) and (end is None or (end + timedelta(1)).day == 1)


def _totals(*, user: Any, filters: PipelineFilter) -> QuerySet[OpportunityTotal]:
    """The maintained totals narrowed like ``pipeline_opportunities`` (whole months only)."""
    qs = OpportunityTotal.objects.visible_to(user).filter(currency=filters.currency)
    if filters.owner_id is not None:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.business_unit_id is not None:
        qs = qs.filter(business_unit_id=filters.business_unit_id)
    if filters.close_from is not None:
        qs = qs.filter(month__gte=filters.close_from)
    if filters.close_to is not None:
        qs = qs.filter(month__lte=filters.close_to)
    return qs


def stage_sums(
    *,
    user: Any,
    currency: str = "CNY",
    filters: PipelineFilter | None = None,
    stages: list[OpportunityStage] | None = None,
) -> list[dict[str, Any]]:
    """Per active stage in order: count, Σ amount, Σ weighted (the board's column heads).
    ``stages``: the active stages when the caller has read them already (one query less).

    Read from ``OpportunityTotal`` (kept by the services: a few hundred rows, not every
    opportunity in scope) when the close window is whole months; Σ weighted is Σ amount ×
    the stage's probability, exact. A window of other days sums the opportunities."""
    filters = filters or PipelineFilter(currency=currency)
    if _whole_months(filters):
        sums = {
            r["stage_id"]: r
            for r in _totals(user=user, filters=filters)
            .values("stage_id")
            .annotate(count=Sum("count"), total=Sum("amount"))
            .order_by()
        }
    else:
        sums = {
            r["stage_id"]: r
            for r in pipeline_opportunities(user=user, filters=filters)
            .values("stage_id")
            .annotate(count=Count("*"), total=Sum("amount"))
            .order_by()
        }
    out = []
    if stages is None:
        stages = list(OpportunityStage.objects.filter(is_active=True))
    for stage in stages:
        row = sums.get(stage.pk, {})
        total = row.get("total") or _ZERO
        out.append(
            {
                "stage": stage,
                "count": row.get("count") or 0,
                "amount": total,
                "weighted": (total * stage.probability / Decimal(100)).quantize(
                    CENT, ROUND_HALF_UP
                ),
            }
        )
    return out


# --- The board, its columns' pages, the forecast's labels, the rep's closing-soon list -------

BOARD_LIMIT = 50


# The columns a card shows (the board renders ~300 cards: no more than these are read, as
# values: model instances for the opportunity, its account, customer and owner were a third
# of the board's reads in Python).
CARD_FIELDS = (
    "id",
    "stage_id",
    "name",
    "amount",
    "currency",
    "expected_close",
    "account__customer__display_name",
    "account__customer__name_is_generated",
    "owner_id",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)


@dataclass
class Card:
    """One opportunity as its card shows it: plain values; the view sets ``html``."""

    pk: int
    stage_id: int
    name: str
    amount: Decimal
    currency: str
    expected_close: date | None
    display_name: str  # the account's customer, as ``customer_name_html`` reads it
    name_is_generated: bool
    owner_id: int
    owner_name: str
    html: str = ""


def _card_rows(rows: Any) -> list[Card]:
    """Cards of ``CARD_FIELDS`` tuples; each owner's name worked out once (``get_full_name``:
    Chinese names family name first)."""
    from crm.models import User

    names: dict[int, str] = {}
    cards = []
    for pk, stage, name, amount, currency, close, customer, generated, owner, *who in rows:
        shown = names.get(owner)
        if shown is None:
            person = User(username=who[0], first_name=who[1], last_name=who[2])
            shown = names[owner] = person.get_full_name() or person.username
        cards.append(
            Card(pk, stage, name, amount, currency, close, customer, generated, owner, shown)
        )
    return cards


def _cards(user: Any, filters: PipelineFilter) -> QuerySet[Opportunity]:
    return pipeline_opportunities(user=user, filters=filters).order_by("-amount", "-id")


def board_cards(
    *, user: Any, filters: PipelineFilter, stage_ids: list[int], limit: int = BOARD_LIMIT
) -> dict[int, list[Card]]:
    """Per stage, its ``limit`` + 1 largest opportunities (the extra one says "more"), in one
    query whatever the number of stages or opportunities: a UNION ALL of one LIMITed select
    per stage, each read in order from the (unit, stage, amount, id) or (owner, stage,
    amount, id) index."""
    out: dict[int, list[Card]] = {pk: [] for pk in stage_ids}
    if not stage_ids:
        return out
    base = _cards(user, filters).values_list(*CARD_FIELDS)
    parts = [base.filter(stage_id=pk)[: limit + 1] for pk in stage_ids]
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    for card in _card_rows(rows):
        out[card.stage_id].append(card)
    for cards in out.values():
        cards.sort(key=lambda o: (-o.amount, -o.pk))
    return out


def stage_cards(
    *,
    user: Any,
    filters: PipelineFilter,
    stage: OpportunityStage,
    after: tuple[Decimal, int] | None = None,
    limit: int = BOARD_LIMIT,
) -> list[Card]:
    """The next ``limit`` + 1 cards of one column after the keyset ``after`` (amount, id)."""
    qs = _cards(user, filters).filter(stage=stage)
    if after is not None:
        amount, pk = after
        qs = qs.filter(Q(amount__lt=amount) | Q(amount=amount, id__lt=pk))
    return _card_rows(qs.values_list(*CARD_FIELDS)[: limit + 1])


def forecast_table(*, user: Any, group_by: str, filters: PipelineFilter) -> dict[str, Any]:
    """``weighted_forecast`` with a label per row and the totals (two queries)."""
    from crm.models import BusinessUnit, User

    rows = weighted_forecast(user=user, group_by=group_by, filters=filters)
    ids = [r["group"] for r in rows if r["group"] is not None]
    labels: dict[Any, str] = {}
    if group_by == "owner" and ids:
        labels = {
            u.pk: u.get_full_name() or u.get_username()
            for u in User.objects.filter(pk__in=ids).only("first_name", "last_name", "username")
        }
    elif group_by == "business_unit" and ids:
        labels = {bu.pk: bu.name for bu in BusinessUnit.objects.filter(pk__in=ids).only("name")}
    for row in rows:
        group = row["group"]
        if group is None:
            row["label"] = None
        elif group_by == "month":
            row["label"] = group.strftime("%Y-%m")
        else:
            row["label"] = labels.get(group, str(group))
    return {
        "rows": rows,
        "count": sum(r["count"] for r in rows),
        "amount": sum((r["amount"] for r in rows), _ZERO),
        # The total of the exact products, rounded once (not the sum of rounded rows).
        "weighted": sum((r["weighted_exact"] for r in rows), _ZERO).quantize(CENT, ROUND_HALF_UP),
    }


def closing_soon(*, user: Any, until: date) -> QuerySet[Opportunity]:
    """The user's own open opportunities expected to close by ``until`` (overdue included),
    the soonest first; each row carries ``total``, how many there are in all (so that a page
    of them and the count are one query)."""
    return (
        Opportunity.objects.open()
        .visible_to(user)
        .filter(owner_id=user.pk, expected_close__lte=until)
        .select_related("account__customer", "stage")
        .annotate(total=Window(Count("id")))
        .order_by("expected_close", "id")
    )


def opportunity_history(opportunity: Opportunity) -> QuerySet[Any]:
    return opportunity.stage_changes.select_related("from_stage", "to_stage", "changed_by")
