"""Reading the customer master for screens and the API, fast at a million customers.

- Search picks its index by what was typed: digits search identity values (phones, external
  ids, USCCs) through the trigram GIN; an ``@`` searches e-mails; one or two characters of a
  name use the GIN on the name's characters and pairs (pg_trgm needs three); longer names
  use the trigram GIN on the name, united with identity values.
- Lists are keyset-paginated (``?after=``) and never count: a count over a million rows
  costs 700 times the page. The total shown is PostgreSQL's estimate.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from crm.models import (
    Customer,
    CustomerMetrics,
    CustomerTag,
    DuplicateCandidate,
    Identity,
    IdentityType,
    Transaction,
)
from crm.models.blacklist import BINDING_STATUSES, BlacklistEntry
from crm.normalizers import (
    mask_phone,
)
from crm.registry import SearchResult
from crm.selectors.customer_search import (  # noqa: F401 (the list reads them; importers too)
    SearchPlan,
    _plan_filter,
    exact_identity_filter,
    is_identity_query,
    may_reveal,
    parse_search,
    search_filter,
)
from crm.selectors.purchases import last_purchase

PAGE_SIZE = 25
# Generated names (a masked identity, shown as "Unnamed customer") after real names in both
# directions; indexes customer_live_name_asc / _desc.
SORTS = {
    "-id": ("-id",),
    "id": ("id",),
    "display_name": ("name_is_generated", "display_name", "id"),
    "-display_name": ("name_is_generated", "-display_name", "-id"),
}
LIST_FIELDS = ("id", "kind", "display_name", "name_is_generated", "region", "created_at")
_CURSOR_TYPES = {"display_name": str, "name_is_generated": bool}


@dataclass
class CustomerPage:
    rows: list[Customer]
    has_next: bool
    next_cursor: str
    sort: str
    audit: str = ""


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(cursor: str) -> list[Any] | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        return None
    return values if isinstance(values, list) else None


def customer_list(
    *,
    user: Any,
    query: str = "",
    kind: str = "",
    business_unit: int | None = None,
    tag: int | None = None,
    stage: str = "",
    segment: str = "",
    sort: str = "-id",
    after: str = "",
    page_size: int = PAGE_SIZE,
) -> CustomerPage:
    """One page of live customers, newest first unless sorted; keyset-paginated.

    ``page.audit`` says the search looked inside personal identities: the caller records it
    (``services.record_pii_search``) with the rows shown."""
    sort = sort if sort in SORTS else "-id"
    fields = SORTS[sort]
    cursor = _decode(after) if after else None
    if not (cursor and _cursor_fits(fields, cursor)):
        cursor = None
    customers = Customer.objects.visible_to(user).live()
    plan = parse_search(query, may_reveal=may_reveal(user)) if query.strip() else None
    if plan is not None:
        if plan.empty:
            customers = customers.none()
        elif (
            plan.name is None
            and plan.identities is not None
            and sort in ("-id", "id")
            and not (kind or business_unit or tag or stage or segment)
            and getattr(user, "api_key", None) is None
        ):
            # Limit before the join: the first page of matching customer ids straight off
            # the identities (one top-N over the index matches), then only those customers.
            # A short fragment matches thousands; joining them all first cost 3x the page.
            # Identities move to the survivor on a merge, so no id here is a tombstone's.
            ids = plan.identities
            if cursor:
                op = "lt" if sort == "-id" else "gt"
                ids = ids.filter(**{f"customer_id__{op}": cursor[0]})
            first_ids = ids.order_by(sort.replace("id", "customer_id")).values("customer_id")
            customers = customers.filter(pk__in=first_ids.distinct()[: page_size + 1])
        else:
            customers = customers.filter(_plan_filter(plan))
    if kind:
        customers = customers.filter(kind=kind)
    visible = Transaction.objects.visible_to(user)
    if business_unit:
        customers = customers.filter(
            Exists(visible.filter(customer=OuterRef("pk"), business_unit=business_unit))
        )
    if tag:
        customers = customers.filter(
            Exists(CustomerTag.objects.filter(customer=OuterRef("pk"), tag=tag))
        )
    customers = metrics_filter(customers, stage=stage, segment=segment)
    if cursor:
        customers = customers.filter(_after(fields, cursor))
        if (stage or segment) and sort in ("-id", "id"):
            # The same bound on the metrics' key, so that a deep page starts in the index
            # metrics_stage_customer / metrics_segment_customer (the planner does not carry
            # a range across the join's equality).
            op = "lt" if sort == "-id" else "gt"
            customers = customers.filter(**{f"metrics__pk__{op}": cursor[0]})
    rows = list(
        # Only what a row shows (not the name's character array, which costs to parse).
        customers.only(*LIST_FIELDS)
        .annotate(
            phone=Subquery(
                Identity.objects.filter(customer=OuterRef("pk"), type=IdentityType.MOBILE)
                .order_by("id")
                .values("value")[:1]
            ),
            last_purchase=last_purchase(visible),
            # The row's blacklist mark, in the same query (an index on customer_id).
            blacklisted=Exists(
                BlacklistEntry.objects.filter(customer=OuterRef("pk"), status__in=BINDING_STATUSES)
            ),
        )
        .order_by(*fields)[: page_size + 1]
    )
    has_next = len(rows) > page_size
    rows = rows[:page_size]
    next_cursor = ""
    if has_next and rows:
        last = rows[-1]
        next_cursor = _encode([getattr(last, f.lstrip("-")) for f in fields])
    return CustomerPage(
        rows=rows,
        has_next=has_next,
        next_cursor=next_cursor,
        sort=sort,
        audit=plan.audit if plan is not None else "",
    )


def metrics_filter(customers: QuerySet[Customer], *, stage: str = "", segment: str = "") -> Any:
    """Customers in a lifecycle stage and/or an RFM segment (``crm/METRICS.md``), read from
    their metrics row (a customer not yet computed has none and matches neither).

    The ids are also bounded by the first and last customer of that stage/segment (two index
    probes): stages correlate with age (the newest customers are mostly prospects, the oldest
    mostly lost), and without the bounds PostgreSQL walks every newer customer before it
    meets the first lost one (455 ms instead of ~5 ms at 2,200,000 customers)."""
    for field, value in (("lifecycle_stage", stage), ("rfm_segment", segment)):
        if not value:
            continue
        rows = CustomerMetrics.objects.filter(**{field: value}).values("customer_id")
        customers = customers.filter(
            **{f"metrics__{field}": value},
            pk__lte=Subquery(rows.order_by("-customer_id")[:1]),
            pk__gte=Subquery(rows.order_by("customer_id")[:1]),
        )
    return customers


def _cursor_fits(fields: tuple[str, ...], values: list[Any]) -> bool:
    """A cursor from a link we made: an id is an int, a name a string (anything else, e.g. a
    tampered URL, is ignored and the first page shown)."""
    if len(values) != len(fields):
        return False
    for field, value in zip(fields, values, strict=True):
        expected = _CURSOR_TYPES.get(field.lstrip("-"), int)
        if type(value) is not expected:
            return False
    return True


def _after(fields: tuple[str, ...], values: list[Any]) -> Q:
    """Rows after ``values`` in the order of ``fields`` (a row comparison, by hand)."""
    condition = Q()
    for i, field in enumerate(fields):
        name = field.lstrip("-")
        op = "lt" if field.startswith("-") else "gt"
        step = Q(**{f"{name}__{op}": values[i]})
        for prev_field, prev_value in zip(fields[:i], values[:i], strict=False):
            step &= Q(**{prev_field.lstrip("-"): prev_value})
        condition |= step
    return condition


def estimated_row_count(model: type[Any]) -> int:
    """PostgreSQL's estimate of a table's rows (``pg_class.reltuples``): exact counts cost too
    much at scale. 0 when the table was never analysed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def estimated_customer_count() -> int:
    """About how many customers there are; a fresh, never-analysed database is counted."""
    return estimated_row_count(Customer) or Customer.objects.count()


def customer_search_results(rows: list[Customer]) -> list[SearchResult]:
    """Global search results for a page of ``customer_list`` (phones masked)."""
    from django.urls import reverse

    return [
        SearchResult(
            title=c.shown_name,
            subtitle=mask_phone(c.phone) if c.phone else c.get_kind_display(),  # type: ignore[attr-defined]
            badge=f"#{c.pk}",
            url=reverse("customer-detail", args=[c.pk]),
        )
        for c in rows
    ]


def duplicate_queue(*, status: str = "open") -> QuerySet[DuplicateCandidate]:
    return (
        DuplicateCandidate.objects.filter(status=status)
        .select_related("customer_a", "customer_b", "reviewed_by")
        .order_by("-score", "-id")
    )
