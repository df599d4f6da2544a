"""Finding members: by member number (old numbers after a merge too), QR value, phone,
WeChat id or name, through the customer master's search rule (masking, audited fragments)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

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


def _members() -> MemberQuerySet:
    members: MemberQuerySet = Member.objects.live()
    return members.select_related("customer", "level", "enrolled_business_unit")


def member_by_number(number: str, *, user: Any = None) -> Member | None:
    """The member a number (current or an old one from a merge) belongs to; one query."""
    number = clean_number(number)
    if not is_valid_number(number):
        return None
    members = _members() if user is None else _members().visible_to(user)
    return members.filter(
        Q(number=number)
        | Q(pk__in=MemberNumberAlias.objects.filter(number=number).values("member_id"))
    ).first()


def member_by_qr(value: str, *, user: Any = None) -> Member | None:
    number = number_from_qr(value)
    return member_by_number(number, user=user) if number else None


def member_of_customer(customer_id: int) -> Member | None:
    return _members().filter(customer_id=customer_id).first()


def find_members(*, user: Any, query: str, limit: int = 10) -> MemberSearch:
    """The desk's one search box: a QR value or member number finds exactly one member; a
    phone (full, or its last four digits), a WeChat id or 1–2 characters of a name search the
    customer master. Constant queries: one, or two with the name/identity union."""
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
    condition = Q()
    if plan.identities is not None:
        condition |= Q(customer_id__in=plan.identities.values("customer_id"))
    if plan.name is not None:
        condition |= Q(customer__in=_customer_ids(plan.name))
    rows = list(_members().visible_to(user).filter(condition).order_by("-id")[:limit])
    return MemberSearch(rows, plan.audit)


def _customer_ids(name: Q) -> Any:
    from crm.models import Customer

    return Customer.objects.filter(name).values("pk")
