"""What the leads screens read: the pools a user works, a pool's list and the rep's own leads
(filters from the query string, keyset pages), the rep's kanban, the team board's counts and
the funnel.

Every function runs a fixed number of queries whatever the rows (the screens pin theirs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    F,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from crm.policy import sees_all_units, visible_unit_ids
from crm.selectors.customers import _after, _decode, _encode
from leads.models import (
    HELD_STATUSES,
    Lead,
    LeadPool,
    LeadSource,
    LeadStatus,
    PoolKind,
)
from leads.selectors import search_condition

PAGE_SIZE = 25
POOL_LIST_KEY = "leads.pool"
MY_LIST_KEY = "leads.mine"
POOL_FILTER_PARAMS = ("pool", "q", "source", "region", "industry", "status", "age", "sort")
MY_FILTER_PARAMS = ("q", "status", "due", "sort")
# Age in the pool: the bucket's lower and upper bound in days (None: open-ended).
AGES: dict[str, tuple[int | None, int | None]] = {
    "1": (None, 1),
    "3": (None, 3),
    "7": (None, 7),
    "30": (None, 30),
    "older": (30, None),
}
POOL_SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-score": ("-score", "-id"),
    "score": ("score", "id"),
}
MY_SORTS: dict[str, tuple[str, ...]] = {
    "due": ("due_key", "id"),
    "-claimed": ("-claimed_at", "-id"),
    "-score": ("-score", "-id"),
}
_FAR = datetime(9999, 1, 1, tzinfo=timezone.get_fixed_timezone(0))


def _text(params: Mapping[str, Any], key: str, limit: int = 60) -> str:
    return " ".join(str(params.get(key) or "").split())[:limit]


# --- pools ----------------------------------------------------------------------------------


def pools_for(user: Any) -> list[LeadPool]:
    """The active pools ``user`` works or manages: their units' public pools and the team
    pools they belong to (managers and admins: every pool of their units). One query."""
    pools = LeadPool.objects.active().select_related("business_unit")
    if sees_all_units(user):
        return list(pools)
    units = visible_unit_ids(user) or set()
    pools = pools.filter(business_unit__in=units)
    if not user.has_perm("leads.manage_lead"):
        pools = pools.filter(Q(kind=PoolKind.PUBLIC) | Q(memberships__user=user)).distinct()
    return list(pools)


@dataclass(frozen=True)
class LeadFilters:
    query: str = ""
    source: str = ""
    region: str = ""
    industry: str = ""
    status: str = ""  # "" the pool's unclaimed leads; "held", "quarantined" or a status
    age: str = ""
    due: str = ""  # my leads: "today" (due by tonight), "overdue"

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> LeadFilters:
        source = _text(params, "source", 12)
        status = _text(params, "status", 12)
        age = _text(params, "age", 5)
        due = _text(params, "due", 8)
        return cls(
            query=str(params.get("q") or "").strip()[:100],
            source=source if source in LeadSource.values else "",
            region=_text(params, "region"),
            industry=_text(params, "industry"),
            status=status
            if status in LeadStatus.values or status in ("held", "quarantined")
            else "",
            age=age if age in AGES else "",
            due=due if due in ("today", "overdue") else "",
        )

    def as_params(self) -> dict[str, str]:
        values = {
            "q": self.query,
            "source": self.source,
            "region": self.region,
            "industry": self.industry,
            "status": self.status,
            "age": self.age,
            "due": self.due,
        }
        return {k: v for k, v in values.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.as_params())


def _filtered(leads: QuerySet[Lead], filters: LeadFilters, now: datetime) -> QuerySet[Lead]:
    if filters.query:
        leads = leads.filter(search_condition(filters.query))
    if filters.source:
        leads = leads.filter(source=filters.source)
    if filters.region:
        leads = leads.filter(region=filters.region)
    if filters.industry:
        leads = leads.filter(industry=filters.industry)
    if filters.age:
        low, high = AGES[filters.age]
        if high is not None:
            leads = leads.filter(pooled_at__gt=now - timedelta(days=high))
        if low is not None:
            leads = leads.filter(pooled_at__lte=now - timedelta(days=low))
    return leads


@dataclass
class LeadPage:
    rows: list[Lead]
    has_next: bool
    next_cursor: str
    sort: str


def _cursor_value(row: Lead, name: str) -> Any:
    value = getattr(row, name.lstrip("-"))
    return value.isoformat() if isinstance(value, datetime) else value


def _page(leads: QuerySet[Lead], fields: tuple[str, ...], sort: str, after: str) -> LeadPage:
    values = _decode(after) if after else None
    if values is not None and len(values) == len(fields):
        leads = leads.filter(_after(fields, values))
    rows = list(leads.order_by(*fields)[: PAGE_SIZE + 1])
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    cursor = _encode([_cursor_value(rows[-1], f) for f in fields]) if has_next else ""
    return LeadPage(rows=rows, has_next=has_next, next_cursor=cursor, sort=sort)


def pool_leads(*, user: Any, pool: LeadPool, filters: LeadFilters) -> QuerySet[Lead]:
    """The pool's leads the filters match: by default those waiting to be claimed
    (quarantined ones included, marked); ``status`` narrows to held, quarantined or one
    status."""
    now = timezone.now()
    leads = Lead.objects.visible_to(user).filter(pool=pool)
    if filters.status == "":
        leads = leads.filter(owner__isnull=True, status=LeadStatus.NEW)
    elif filters.status == "held":
        leads = leads.filter(status__in=HELD_STATUSES)
    elif filters.status == "quarantined":
        leads = leads.filter(quarantined=True)
    else:
        leads = leads.filter(status=filters.status)
    return _filtered(leads, filters, now)


def pool_page(
    *, user: Any, pool: LeadPool, filters: LeadFilters, sort: str, after: str = ""
) -> LeadPage:
    leads = pool_leads(user=user, pool=pool, filters=filters).select_related(
        "owner", "customer", "customer_owner"
    )
    sort = sort if sort in POOL_SORTS else "-created"
    return _page(leads, POOL_SORTS[sort], sort, after)


def my_page(*, user: Any, filters: LeadFilters, sort: str, after: str = "") -> LeadPage:
    """The leads ``user`` holds, the next follow-up due first (none planned: last)."""
    now = timezone.now()
    leads: QuerySet[Lead] = Lead.objects.filter(owner=user, status__in=HELD_STATUSES)
    if filters.status in HELD_STATUSES:
        leads = leads.filter(status=filters.status)
    if filters.due == "today":
        end = timezone.localtime(now).replace(hour=23, minute=59, second=59)
        leads = leads.filter(next_follow_up_at__lte=end)
    elif filters.due == "overdue":
        leads = leads.filter(next_follow_up_at__lt=now)
    leads = _filtered(leads, filters, now).select_related("pool", "customer", "business_unit")
    leads = leads.annotate(
        due_key=Coalesce("next_follow_up_at", Value(_FAR, output_field=DateTimeField()))
    )
    sort = sort if sort in MY_SORTS else "due"
    return _page(leads, MY_SORTS[sort], sort, after)


def due_today(user: Any, limit: int = 5) -> tuple[list[Lead], int]:
    """The rep's held leads whose next follow-up is due by the end of today (overdue first)
    and how many there are: the home card."""
    end = timezone.localtime().replace(hour=23, minute=59, second=59)
    leads = Lead.objects.filter(
        owner=user, status__in=HELD_STATUSES, next_follow_up_at__lte=end
    ).order_by("next_follow_up_at", "id")
    return list(leads[:limit]), leads.count()


# --- the manager's board --------------------------------------------------------------------


@dataclass
class RepRow:
    user: Any
    counts: dict[str, int] = field(default_factory=dict)
    held: int = 0
    overdue: int = 0
    converted: int = 0
    lost: int = 0


@dataclass
class Board:
    statuses: list[tuple[str, Any]]
    pools: list[tuple[LeadPool, dict[str, int], int]]
    reps: list[RepRow]
    totals: dict[str, int]


def team_board(*, user: Any, unit_ids: set[int] | None) -> Board:
    """Counts per pool and status, and per rep (held by status, overdue follow-ups, closed):
    three grouped queries and the users'."""
    from django.contrib.auth import get_user_model

    now = timezone.now()
    leads = Lead.objects.visible_to(user)
    if unit_ids is not None:
        leads = leads.filter(business_unit__in=unit_ids)
    statuses = list(LeadStatus.choices)
    by_pool: dict[int, dict[str, int]] = {}
    for pool_id, status, n in (
        leads.order_by().values_list("pool_id", "status").annotate(n=Count("id"))
    ):
        by_pool.setdefault(pool_id, {})[status] = n
    pools = LeadPool.objects.filter(pk__in=list(by_pool)).select_related("business_unit")
    pool_rows = [
        (pool, by_pool[pool.pk], sum(by_pool[pool.pk].values()))
        for pool in sorted(pools, key=lambda p: (p.business_unit_id, p.kind != "public", p.name))
    ]
    reps: dict[int, RepRow] = {}
    for owner_id, status, n in (
        leads.filter(owner__isnull=False)
        .order_by()
        .values_list("owner_id", "status")
        .annotate(n=Count("id"))
    ):
        row = reps.setdefault(owner_id, RepRow(user=None))
        row.counts[status] = n
        if status in HELD_STATUSES:
            row.held += n
        elif status == LeadStatus.CONVERTED:
            row.converted += n
        elif status == LeadStatus.LOST:
            row.lost += n
    for owner_id, n in (
        leads.filter(status__in=HELD_STATUSES, next_follow_up_at__lt=now)
        .order_by()
        .values_list("owner_id")
        .annotate(n=Count("id"))
    ):
        reps.setdefault(owner_id, RepRow(user=None)).overdue = n
    users = get_user_model().objects.in_bulk(list(reps))
    rep_rows = []
    for owner_id, row in reps.items():
        row.user = users.get(owner_id)
        if row.user is not None:
            rep_rows.append(row)
    rep_rows.sort(key=lambda r: (-r.held, r.user.get_full_name() or r.user.username))
    totals: dict[str, int] = {}
    for _pool, counts, _total in pool_rows:
        for status, n in counts.items():
            totals[status] = totals.get(status, 0) + n
    return Board(statuses=statuses, pools=pool_rows, reps=rep_rows, totals=totals)


# --- the rep's kanban -----------------------------------------------------------------------

BOARD_LIMIT = 50


def my_board(
    *, user: Any, limit: int | None = None
) -> tuple[dict[str, int], dict[str, list[Lead]]]:
    """The leads ``user`` holds, per held status: how many, and the first ``limit`` of each
    (the next follow-up due first, as on the list). One query whatever the number of leads:
    each row carries its status's count and rank (window functions), the ranks past
    ``limit`` (default ``BOARD_LIMIT``) are left in the database."""
    limit = limit or BOARD_LIMIT
    by_status = [F("status")]
    leads = (
        Lead.objects.filter(owner=user, status__in=HELD_STATUSES)
        .annotate(
            due_key=Coalesce("next_follow_up_at", Value(_FAR, output_field=DateTimeField())),
            in_status=Window(Count("id"), partition_by=by_status),
        )
        .annotate(
            rank=Window(
                RowNumber(), partition_by=by_status, order_by=[F("due_key").asc(), F("id").asc()]
            )
        )
        .filter(rank__lte=limit)
        .select_related("pool")
        .order_by("status", "due_key", "id")
    )
    counts: dict[str, int] = {status: 0 for status in HELD_STATUSES}
    cards: dict[str, list[Lead]] = {status: [] for status in HELD_STATUSES}
    for lead in leads:
        counts[lead.status] = lead.in_status
        cards[lead.status].append(lead)
    return counts, cards
