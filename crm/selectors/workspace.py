"""Reading a user's workspace and the work waiting for them (the home page's cards)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from crm.models import DuplicateCandidate, Job, JobStatus, RecentView, SavedView

IMPORT_ERRORS_WITHIN = timedelta(days=30)


def saved_views(*, user: Any, list_key: str = "") -> QuerySet[SavedView]:
    """The user's saved views, of one list or of all, by list then name."""
    views = (
        SavedView.objects.filter(user=user)
        if getattr(user, "pk", None)
        else SavedView.objects.none()
    )
    if list_key:
        views = views.filter(list_key=list_key)
    return views.order_by("list_key", "name", "id")


def recent_customers(*, user: Any, limit: int = 8) -> list[RecentView]:
    """The customers the user opened last, newest first (merged ones left out: their
    survivor appears when it is opened). One query."""
    if not getattr(user, "pk", None):
        return []
    return list(
        RecentView.objects.filter(user=user, customer__merged_into__isnull=True)
        .select_related("customer")
        .only(
            "viewed_at",
            "customer__id",
            "customer__display_name",
            "customer__name_is_generated",
            "customer__kind",
        )
        .order_by("-viewed_at", "-id")[:limit]
    )


def duplicates_waiting() -> QuerySet[DuplicateCandidate]:
    """Open duplicate candidates, oldest first (the partial index ``duplicate_open_oldest``):
    what waited longest is decided first."""
    return (
        DuplicateCandidate.objects.open()
        .select_related("customer_a", "customer_b")
        .order_by("created_at", "id")
    )


def jobs_with_errors(
    *, user: Any, kind: str, within: timedelta = IMPORT_ERRORS_WITHIN
) -> QuerySet[Job]:
    """Recent jobs of ``kind`` the user may see that failed or rejected rows (their result's
    ``rejected`` above 0), newest first."""
    since = timezone.now() - within
    return (
        Job.objects.visible_to(user)
        .filter(kind=kind, created_at__gte=since)
        .filter(Q(status=JobStatus.FAILED) | Q(status=JobStatus.SUCCEEDED, result__rejected__gt=0))
        .select_related("business_unit")
        .order_by("-created_at")
    )
