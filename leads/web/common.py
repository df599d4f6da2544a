"""What the leads screens share: finding a lead in the user's scope, how a rep's name, a
status and a masked phone are shown, the reps a manager may assign to."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from crm.normalizers import mask_phone
from crm.roles import SALES_MANAGER, SALES_REP
from leads.models import Lead, LeadStatus

STATUS_COLORS: dict[str, str] = {
    LeadStatus.NEW: "azure",
    LeadStatus.ASSIGNED: "blue",
    LeadStatus.CONTACTED: "cyan",
    LeadStatus.QUALIFIED: "green",
    LeadStatus.CONVERTED: "teal",
    LeadStatus.LOST: "secondary",
}


def person(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def masked(phone: str) -> str:
    return mask_phone(phone) if phone else ""


def lead_for(user: Any, pk: int) -> Lead:
    """The lead if ``user`` may see it, else 404 (never a hint that it exists)."""
    lead = (
        Lead.objects.visible_to(user)
        .select_related(
            "pool", "owner", "customer", "customer_owner", "business_unit", "created_by"
        )
        .filter(pk=pk)
        .first()
    )
    if lead is None:
        raise Http404
    return lead


def assignable_reps(unit_id: int) -> Any:
    """Active sales reps and managers of the unit, by name: who a manager assigns to."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            business_units=unit_id,
            groups__name__in=[SALES_REP, SALES_MANAGER],
        )
        .distinct()
        .order_by("username")
        .only("id", "username", "first_name", "last_name")
    )


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The ``next`` the form came from, when it is a path of this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def lead_url(lead: Lead | int) -> str:
    return reverse("leads:detail", args=[lead if isinstance(lead, int) else lead.pk])
