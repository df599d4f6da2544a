"""Reads of the member desk: the search box's rows (phones masked), the member page, the
home cards, the customer 360 panel. Each runs a constant number of queries, whatever the
member's history (the core's ``members.selectors`` does the ledger reads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from crm.models import BusinessUnit, Identity, IdentityType
from crm.normalizers import mask_phone
from members.models import (
    AdjustmentProposal,
    AdjustmentStatus,
    EntryKind,
    Member,
    PointsLot,
    ProgramSettings,
)
from members.selectors import (
    LedgerPage,
    MemberSearch,
    MemberSummary,
    find_members,
    ledger_page,
    member_summary,
)

LOTS_SHOWN = 50
DESK_SEARCH_LIMIT = 10


@dataclass
class DeskRow:
    member: Member
    phone_masked: str


@dataclass
class DeskSearch:
    rows: list[DeskRow] = field(default_factory=list)
    audit: str = ""
    searched: bool = False


def _phones(customer_ids: list[int]) -> dict[int, str]:
    """Each customer's first mobile (one query)."""
    phones: dict[int, str] = {}
    rows = (
        Identity.objects.filter(customer_id__in=customer_ids, type=IdentityType.MOBILE)
        .order_by("customer_id", "id")
        .values_list("customer_id", "value")
    )
    for customer_id, value in rows:
        phones.setdefault(customer_id, value)
    return phones


def desk_search(*, user: Any, query: str, limit: int = DESK_SEARCH_LIMIT) -> DeskSearch:
    """The search box: members by phone (full, last four digits, or a fragment for those who
    may reveal: ``audit`` says the caller must record it), member number or QR value, name
    (1–2 characters through the master's character index) or WeChat id. One query (the
    members with their first mobile), two for a member number (the member, its phone), none
    for an empty box."""
    text = (query or "").strip()
    if not text:
        return DeskSearch()
    found: MemberSearch = find_members(user=user, query=text, limit=limit, with_phone=True)
    phones = {m.customer_id: m.phone for m in found.rows if hasattr(m, "phone") and m.phone}
    missing = [m.customer_id for m in found.rows if not hasattr(m, "phone")]
    if missing:
        phones.update(_phones(missing))
    rows = [
        DeskRow(m, mask_phone(phones[m.customer_id]) if m.customer_id in phones else "")
        for m in found.rows
    ]
    return DeskSearch(rows=rows, audit=found.audit, searched=True)


@dataclass
class MemberPage:
    member: Member
    summary: MemberSummary
    lots: list[PointsLot]
    ledger: LedgerPage
    pending: list[AdjustmentProposal]
    units: list[BusinessUnit]
    phone_masked: str
    threshold: int
    now: datetime


def desk_member(*, user: Any, pk: int) -> Member | None:
    """The member shown at ``pk`` with its customer, level and enrolling unit: one query."""
    member = (
        Member.objects.visible_to(user)
        .select_related("customer", "level", "enrolled_business_unit")
        .filter(pk=pk)
        .first()
    )
    return member


def member_page(
    *,
    member: Member,
    kinds: list[str] | None = None,
    business_unit: int | None = None,
    after: str = "",
    now: datetime | None = None,
) -> MemberPage:
    """Everything the member page shows: summary (balance, expiring within 30 days, level
    progress), open lots by expiry, one ledger page, proposals waiting, the units for the
    filter. A constant number of queries."""
    now = now or timezone.now()
    kinds = [k for k in (kinds or []) if k in EntryKind.values]
    lots = list(
        PointsLot.objects.filter(member=member, is_open=True)
        .select_related("funding_business_unit")
        .order_by("expires_at", "id")[:LOTS_SHOWN]
    )
    pending = list(
        AdjustmentProposal.objects.filter(member=member, status=AdjustmentStatus.PROPOSED)
        .select_related("proposed_by", "business_unit")
        .order_by("-proposed_at")[:10]
    )
    phones = _phones([member.customer_id])
    return MemberPage(
        member=member,
        summary=member_summary(member, now=now),
        lots=lots,
        ledger=ledger_page(member, kinds=kinds, business_unit=business_unit, after=after),
        pending=pending,
        units=list(BusinessUnit.objects.order_by("code")),
        phone_masked=mask_phone(phones[member.customer_id]) if phones else "",
        threshold=ProgramSettings.current().adjustment_approval_threshold,
        now=now,
    )


def pending_adjustments(*, user: Any) -> QuerySet[AdjustmentProposal]:
    """Large adjustments waiting for a second approver (oldest first), in the user's units."""
    return (
        AdjustmentProposal.objects.visible_to(user)
        .filter(status=AdjustmentStatus.PROPOSED)
        .select_related("member", "member__customer", "proposed_by", "business_unit")
        .order_by("proposed_at", "id")
    )


def recent_members(*, user: Any, limit: int = 5) -> list[Member]:
    return list(
        Member.objects.visible_to(user)
        .live()
        .select_related("customer", "level")
        .order_by("-enrolled_at", "-id")[:limit]
    )


def member_panel(*, user: Any, customer: Any) -> dict[str, Any]:
    """The 360 view's member panel: the customer's membership (or none) with its summary."""
    member = (
        Member.objects.visible_to(user)
        .live()
        .select_related("level", "enrolled_business_unit")
        .filter(customer_id=customer.pk)
        .first()
    )
    return {"member": member, "summary": member_summary(member) if member else None}
