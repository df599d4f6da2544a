"""Reading data for screens and the API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Count, Q, QuerySet

from crm.models import BusinessUnit, Job, User
from crm.registry import SearchResult
from crm.roles import ROLE_LABELS


def business_unit_list(
    *, user: Any, query: str = "", order_by: str = "code"
) -> QuerySet[BusinessUnit]:
    units = BusinessUnit.objects.visible_to(user).annotate(
        user_count=Count("users", filter=Q(users__is_active=True), distinct=True)
    )
    if query:
        units = units.filter(Q(code__icontains=query) | Q(name__icontains=query))
    return units.order_by(order_by, "pk")


def business_unit_members(*, unit: BusinessUnit) -> QuerySet[User]:
    """Active users of a unit the caller may already see (the unit is the scope)."""
    return unit.users.filter(is_active=True).prefetch_related("groups").order_by("username")


def job_list(*, user: Any, status: str = "") -> QuerySet[Job]:
    jobs = Job.objects.visible_to(user).select_related("business_unit", "created_by")
    if status:
        jobs = jobs.filter(status=status)
    return jobs.order_by("-created_at")


def users_per_role() -> list[dict[str, Any]]:
    """Active users per role, for the administrator's dashboard chart."""
    counts = dict(
        Group.objects.filter(name__in=ROLE_LABELS)
        .annotate(n=Count("user", filter=Q(user__is_active=True)))
        .values_list("name", "n")
    )
    return [
        {"role": str(label), "count": counts.get(role, 0)} for role, label in ROLE_LABELS.items()
    ]


def search_business_units(user: Any, query: str, limit: int) -> list[SearchResult]:
    from django.urls import reverse

    units = business_unit_list(user=user, query=query)[:limit]
    return [
        SearchResult(
            title=u.name,
            subtitle=u.get_industry_display(),
            badge=u.code,
            url=reverse("business-unit-detail", args=[u.pk]),
        )
        for u in units
    ]


def search_users(user: Any, query: str, limit: int) -> list[SearchResult]:
    from django.urls import reverse

    if not user.is_staff:  # results open the user in the admin UI
        return []
    found = (
        User.objects.visible_to(user)
        .filter(
            Q(username__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(email__icontains=query)
        )
        .order_by("username")[:limit]
    )
    return [
        SearchResult(
            title=u.get_full_name() or u.username,
            subtitle=u.email,
            badge=u.username,
            url=reverse("admin:crm_user_change", args=[u.pk]),
        )
        for u in found
    ]
