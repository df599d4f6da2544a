"""Reading segments and the customers a rule matches: counts, previews, members.

A live segment's members are the live customers (not merge tombstones) its rule matches
now; a frozen one's are the members of its latest snapshot, each read as the customer it
was merged into when it was merged since."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.utils import OperationalError

from crm.models import Customer, Identity, IdentityType, Segment, SegmentSnapshot
from crm.rules import matching_ids_sql

SEGMENT_SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
    "owner": ("owner__username", "name"),
    "-owner": ("-owner__username", "-name"),
}
SEGMENT_LIST_KEY = "crm.segment_members"
PREVIEW_SIZE = 10
LIVE_COUNT_TIMEOUT_MS = 5000


class CountTooSlow(Exception):
    """The live count did not finish within its time limit."""


def segment_list(*, query: str = "", sort: str = "name", owner: Any = None) -> QuerySet[Segment]:
    """Segments whose name or description holds ``query``, sorted; with their latest
    snapshot's time and size."""
    segments = Segment.objects.select_related("owner")
    if query.strip():
        text = query.strip()
        segments = segments.filter(Q(name__icontains=text) | Q(description__icontains=text))
    if owner is not None:
        segments = segments.filter(owner=owner)
    latest = SegmentSnapshot.objects.filter(segment=OuterRef("pk")).order_by("-taken_at", "-id")
    return segments.annotate(
        snapshot_at=Subquery(latest.values("taken_at")[:1]),
        snapshot_size=Subquery(latest.values("member_count")[:1]),
    ).order_by(*SEGMENT_SORTS.get(sort, SEGMENT_SORTS["name"]))


def latest_snapshot(segment: Segment) -> SegmentSnapshot | None:
    return segment.snapshots.order_by("-taken_at", "-id").first()


def rule_customers(rule: Any, *, now: datetime | None = None) -> QuerySet[Customer]:
    """The live customers ``rule`` matches (validated first)."""
    sql, params = matching_ids_sql(rule, now=now)
    return Customer.objects.filter(pk__in=RawSQL(sql, params))  # noqa: S611 (compiled)


def snapshot_customers(snapshot: SegmentSnapshot) -> QuerySet[Customer]:
    """A snapshot's members, each as the customer it is now (a merged one: its survivor)."""
    return Customer.objects.filter(
        merged_into__isnull=True,
        pk__in=RawSQL(
            "SELECT COALESCE(c.merged_into_id, c.id) FROM crm_segmentmember m "
            "JOIN crm_customer c ON c.id = m.customer_id WHERE m.snapshot_id = %s",
            [snapshot.pk],
        ),
    )


def segment_customers(segment: Segment, *, now: datetime | None = None) -> QuerySet[Customer]:
    if segment.is_frozen:
        snapshot = latest_snapshot(segment)
        if snapshot is not None:
            return snapshot_customers(snapshot)
    return rule_customers(segment.rule, now=now)


def count_rule(rule: Any, *, now: datetime | None = None, timeout_ms: int | None = None) -> int:
    """How many live customers ``rule`` matches; ``timeout_ms``: give up after that long
    (:class:`CountTooSlow`), for counts while a person types."""
    sql, params = matching_ids_sql(rule, now=now)
    return count_ids(sql, params, timeout_ms=timeout_ms)


def count_ids(sql: str, params: list[Any], *, timeout_ms: int | None = None) -> int:
    """How many rows the compiled ``SELECT … id`` returns, within ``timeout_ms`` if given."""
    with transaction.atomic(), connection.cursor() as cursor:
        if timeout_ms:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(timeout_ms)])
        try:
            cursor.execute(f"SELECT count(*) FROM ({sql}) m", params)  # noqa: S608 (compiled)
        except OperationalError as exc:
            if "statement timeout" in str(exc):
                raise CountTooSlow from exc
            raise
        return int(cursor.fetchone()[0])


def segment_count(segment: Segment, *, now: datetime | None = None) -> int:
    if segment.is_frozen and (snapshot := latest_snapshot(segment)) is not None:
        return snapshot.member_count
    return count_rule(segment.rule, now=now)


@dataclass(frozen=True)
class PreviewRow:
    customer: Customer
    mobile: str  # masked
    email: str  # masked


def _first_identity(type_: str) -> Subquery:
    return Subquery(
        Identity.objects.filter(customer=OuterRef("pk"), type=type_)
        .order_by("id")
        .values("value")[:1]
    )


def preview_rows(customers: QuerySet[Customer], *, size: int = PREVIEW_SIZE) -> list[PreviewRow]:
    """The first ``size`` customers by number, newest first, with their first phone and
    e-mail masked (never revealed here): one query."""
    from crm.normalizers import mask_identity

    rows = (
        customers.only("id", "kind", "display_name", "name_is_generated", "region", "created_at")
        .annotate(
            mobile=_first_identity(IdentityType.MOBILE),
            email=_first_identity(IdentityType.EMAIL),
        )
        .order_by("-id")[:size]
    )
    return [
        PreviewRow(
            customer=c,
            mobile=mask_identity(IdentityType.MOBILE, c.mobile) if c.mobile else "",  # type: ignore[attr-defined]
            email=mask_identity(IdentityType.EMAIL, c.email) if c.email else "",  # type: ignore[attr-defined]
        )
        for c in rows
    ]
