"""The leads of one customer (its 360 view's panel) and the global search's leads."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import NoReverseMatch, reverse

from crm.errors import DomainError
from crm.normalizers import normalize_email, normalize_phone
from leads.models import Lead
from leads.selectors.search import name_search

PANEL_ROWS = 10


def lead_url(pk: int) -> str:
    """The lead's page (the web screens' ``leads:detail``), else its admin page."""
    for name in ("leads:detail", "admin:leads_lead_change"):
        try:
            return reverse(name, args=[pk])
        except NoReverseMatch:
            continue
    return ""


def customer_leads_panel(user: Any, customer: Any) -> dict[str, Any]:
    """The customer's leads the user may see, newest first: two queries at most."""
    leads = Lead.objects.visible_to(user).filter(customer=customer)
    rows = list(
        leads.select_related("business_unit", "owner").order_by("-created_at", "-id")[:PANEL_ROWS]
    )
    total = leads.count() if len(rows) == PANEL_ROWS else len(rows)
    return {
        "leads": [(lead, lead_url(lead.pk)) for lead in rows],
        "total": total,
        "open": sum(1 for lead in rows if lead.is_open),
    }


def _search_filter(query: str) -> Q | None:
    text = query.strip()
    if not text:
        return None
    for normalize, field in ((normalize_phone, "phone"), (normalize_email, "email")):
        if field == "email" and "@" not in text:
            continue
        try:
            return Q(**{field: normalize(text)})
        except DomainError:
            continue
    if len(text) < 2:
        return None
    return name_search(text[:100])


def search_leads(*, user: Any, query: str, limit: int) -> list[Lead]:
    """A full phone or e-mail (however typed), or two characters or more of a name or
    company (the name indexes: ``leads.selectors.search``)."""
    condition = _search_filter(query)
    if condition is None:
        return []
    return list(
        Lead.objects.visible_to(user)
        .filter(condition)
        .select_related("business_unit")
        .order_by("-created_at", "-id")[:limit]
    )
