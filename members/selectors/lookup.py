"""Finding members: by member number (old numbers after a merge too), QR value, phone,
WeChat id or name, through the customer master's search rule (masking, audited fragments)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from crm.models import Identity, IdentityType
from crm.selectors.customers import may_reveal, parse_search
from members.models import Member, MemberNumberAlias
from members.models.members import MemberQuerySet
from members.numbers import clean_number, is_valid_number, number_from_qr


@dataclass
class MemberSearch:
    """Members found (live ones, newest first) and ``audit``: the kind of fragment search
    inside personal identities the caller must record (``crm.services.record_pii_search``)."""

    rows: list[Member] = field(default_factory=list)
    audit: str = ""


_DESK_ROW_FIELDS = (
    "id",
    "customer_id",
    "number",
    "status",
    "level_id",
    "points_balance",
    "merged_into_id",
    "customer__id",
    "customer__display_name",
    "customer__name_is_generated",
    "level__id",
    "level__name",
    "level__rank",
)
_first_mobile = (
    Identity.objects.filter(customer_id=OuterRef("customer_id"), type=IdentityType.MOBILE)
    .order_by("id")
    .values("value")[:1]
)


def _members() -> MemberQuerySet:
    members: MemberQuerySet = Member.objects.live()
    return members.select_related("customer", "level", "enrolled_business_unit")


def member_by_number(number: str, *, user: Any = None, lean: bool = False) -> Member | None:
    """The member a number (current or an old one from a merge) belongs to; one query.
    ``lean``: only its id is read (for a service that locks the member itself)."""
    number = clean_number(number)
    if not is_valid_number(number):
        return None
    members = Member.objects.live().only("pk") if lean else _members()
    if user is not None:
        members = members.visible_to(user)
    # A scalar sub-select (old numbers are unique), not ``pk IN (...)``: OR-ed with the
    # number, an IN sub-select made PostgreSQL scan every member (125 ms at 1,000,000, on
    # every POS request); this is two index probes.
    old = MemberNumberAlias.objects.filter(number=number).values("member_id")[:1]
    return members.filter(Q(number=number) | Q(pk=Subquery(old))).first()


def member_by_qr(value: str, *, user: Any = None, lean: bool = False) -> Member | None:
    number = number_from_qr(value)
    return member_by_number(number, user=user, lean=lean) if number else None


def member_of_customer(customer_id: int) -> Member | None:
    return _members().filter(customer_id=customer_id).first()


def find_members(
    *, user: Any, query: str, limit: int = 10, with_phone: bool = False
) -> MemberSearch:
    """The desk's one search box: a QR value or member number finds exactly one member; a
    phone (full, or its last four digits), a WeChat id or 1–2 characters of a name search the
    customer master. Newest customers first. Constant queries: one. ``with_phone``: each row
    found by the customer master carries ``phone``, the customer's first mobile (in the same
    query).

    The limit is taken before the join (as the master's ``customer_list`` does): each source
    (the identities, the name index) yields at most ``limit`` customer ids, the newest that
    have a live membership (``_newest``), and only those members are read. A fragment such
    as four digits or a common name matches thousands of customers; joining every match to
    its member and customer and sorting them all cost 0.3–0.6 s at 1,000,000 members
    (``tests/bench/README.md``, "B2C members")."""
    text = (query or "").strip()
    if not text:
        return MemberSearch()
    exact = member_by_qr(text, user=user) if ":" in text else None
    if exact is None and is_valid_number(clean_number(text)) and not text.startswith("+"):
        exact = member_by_number(text, user=user)
    if exact is not None:
        return MemberSearch([exact])
    plan = parse_search(text, may_reveal=may_reveal(user))
    if plan.empty:
        return MemberSearch()
    # A partner key sees only some members: the newest candidates might all be hidden.
    first = limit if getattr(user, "api_key", None) is None else None
    condition = Q()
    if plan.identities is not None:
        condition |= Q(customer_id__in=_newest(plan.identities, "customer_id", first))
    if plan.name is not None:
        condition |= Q(customer_id__in=_newest(_customers(plan.name), "pk", first))
    if with_phone:  # a desk row: only what it shows (the name's character array costs)
        members = (
            Member.objects.live()
            .select_related("customer", "level")
            .only(*_DESK_ROW_FIELDS)
            .annotate(phone=Subquery(_first_mobile))
        )
    else:
        members = _members()
    members = members.visible_to(user).filter(condition)
    rows = list(members.order_by("-customer_id")[:limit])
    return MemberSearch(rows, plan.audit)


def _customers(name: Q) -> QuerySet[Any]:
    from crm.models import Customer

    return Customer.objects.filter(name)


def _newest(rows: QuerySet[Any], customer: str, first: int | None) -> Any:
    """The ids (``customer``) of ``rows``' customers holding a live membership, newest first,
    at most ``first`` of them (all of them when ``None``).

    Sorted first, then checked for a membership one by one until ``first`` are found: the
    ordered sub-select is a fence the planner does not flatten, so it does not join every
    match to its member (a thousand index probes for four digits) before the limit."""
    if first is None:
        return rows.values(customer)
    ordered = rows.order_by(f"-{customer}").values(customer)
    if customer != "pk":  # a customer may have several matching identities
        ordered = ordered.distinct()
    sql, params = ordered.query.sql_with_params()
    fenced = (
        f"SELECT s.id FROM ({sql}) AS s(id) WHERE EXISTS (SELECT 1 FROM members_member m "  # noqa: S608 (SQL compiled by the ORM, values bound)
        "WHERE m.customer_id = s.id AND m.merged_into_id IS NULL) LIMIT %s"
    )
    return RawSQL(fenced, (*params, first))  # noqa: S611 (values bound)
