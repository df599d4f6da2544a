"""My leads: what the rep holds, the follow-ups due first, the day each lead goes back to the
pool, and a quick follow-up form per row (htmx)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from leads.models import HELD_STATUSES, Lead, LeadStatus
from leads.web.common import STATUS_COLORS, lead_url, masked
from leads.web.pools import load_of
from leads.web.queries import MY_LIST_KEY, LeadFilters, my_page, pools_for


def _row(lead: Lead, now: Any, end_of_day: Any) -> dict[str, Any]:
    due = lead.recycle_due_at(lead.pool)
    warn = due is not None and due - timedelta(days=lead.pool.warn_days) <= now
    follow = lead.next_follow_up_at
    return {
        "lead": lead,
        "url": lead_url(lead),
        "phone": masked(lead.phone),
        "status_color": STATUS_COLORS.get(lead.status, "secondary"),
        "recycle_due": due,
        "recycle_days": max((due - now).days, 0) if due else None,
        "recycle_warn": warn,
        "follow_overdue": follow is not None and follow < now,
        "follow_today": follow is not None and now <= follow <= end_of_day,
    }


@require_GET
@permission_required("leads.claim_lead", raise_exception=True)
def my_leads(request: HttpRequest) -> HttpResponse:
    filters = LeadFilters.from_params(request.GET)
    page = my_page(
        user=request.user,
        filters=filters,
        sort=request.GET.get("sort", "due"),
        after=request.GET.get("after", ""),
    )
    pools = pools_for(request.user)
    home = next((p for p in pools if p.is_public), pools[0] if pools else None)
    now = timezone.now()
    end_of_day = timezone.localtime(now).replace(hour=23, minute=59, second=59)
    context = {
        "page": page,
        "rows": [_row(lead, now, end_of_day) for lead in page.rows],
        "filters": filters,
        "sort": page.sort,
        "filtered": filters.active,
        "first_page": not request.GET.get("after"),
        "list_key": MY_LIST_KEY,
        "load": load_of(request.user, home) if home else None,
        "statuses": [(s, LeadStatus(s).label) for s in HELD_STATUSES],
        "dues": [("today", _("Due by tonight")), ("overdue", _("Overdue"))],
        "sorts": [
            ("due", _("Next follow-up first")),
            ("-claimed", _("Latest claimed first")),
            ("-score", _("Highest score first")),
        ],
    }
    template = "leads/_my_rows.html" if request.htmx else "leads/mine.html"
    return render(request, template, context)
