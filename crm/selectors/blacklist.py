"""Reading the blacklist: is a customer blacklisted (one or many at once), the approvers'
queue and the history. Every function runs a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Case, F, QuerySet, When

from crm.models.blacklist import BINDING_STATUSES, BlacklistEntry, BlacklistStatus

PENDING_STATUSES = (BlacklistStatus.PROPOSED, BlacklistStatus.LIFTING)


def _customer_id(customer: Any) -> int:
    return customer if isinstance(customer, int) else customer.pk


def active_blacklist_entry(customer: Any) -> BlacklistEntry | None:
    """The entry that blacklists ``customer`` (active, or its lifting not yet approved), or
    ``None``. One query."""
    return (
        BlacklistEntry.objects.filter(
            customer_id=_customer_id(customer), status__in=BINDING_STATUSES
        )
        .select_related("proposed_by", "decided_by")
        .first()
    )


def open_blacklist_entry(customer: Any) -> BlacklistEntry | None:
    """The customer's open entry (proposed, active or lifting), or ``None``."""
    return (
        BlacklistEntry.objects.filter(
            customer_id=_customer_id(customer),
            status__in=(*BINDING_STATUSES, BlacklistStatus.PROPOSED),
        )
        .select_related("proposed_by", "decided_by", "lift_proposed_by")
        .first()
    )


def is_blacklisted(customer_id: int) -> bool:
    """True while the customer is blacklisted (e.g. its credit limit counts as 0)."""
    return BlacklistEntry.objects.filter(
        customer_id=customer_id, status__in=BINDING_STATUSES
    ).exists()


def blacklisted_ids(customer_ids: Iterable[int]) -> set[int]:
    """Which of these customers are blacklisted: one query for a whole page of rows."""
    ids = list(customer_ids)
    if not ids:
        return set()
    return set(
        BlacklistEntry.objects.filter(customer_id__in=ids, status__in=BINDING_STATUSES)
        .values_list("customer_id", flat=True)
        .distinct()
    )


def blacklist_queue() -> QuerySet[BlacklistEntry]:
    """What waits for an approver: proposals and lifting proposals, the oldest first (by when
    the pending step was proposed)."""
    return (
        BlacklistEntry.objects.filter(status__in=PENDING_STATUSES)
        .select_related("customer", "proposed_by", "decided_by", "lift_proposed_by")
        .annotate(
            waiting_since=Case(
                When(status=BlacklistStatus.LIFTING, then=F("lift_proposed_at")),
                default=F("proposed_at"),
            )
        )
        .order_by("waiting_since", "id")
    )


def blacklist_history(status: str | None = None) -> QuerySet[BlacklistEntry]:
    """Every entry that has been decided at least once, the latest change first."""
    entries = BlacklistEntry.objects.exclude(status=BlacklistStatus.PROPOSED)
    if status:
        entries = entries.filter(status=status)
    return entries.select_related(
        "customer", "proposed_by", "decided_by", "lift_proposed_by", "lift_decided_by"
    ).order_by("-proposed_at", "-id")
