"""My leads: what the rep holds, the follow-ups due first, the day each lead goes back to the
pool, and a quick follow-up form per row (htmx)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from crm.templatetags.crm_tags import icon
from leads.models import HELD_STATUSES, Lead, LeadStatus
from leads.web.common import STATUS_COLORS, lead_url, masked
from leads.web.pools import load_of
from leads.web.queries import MY_LIST_KEY, LeadFilters, my_page, pools_for


def lead_facts(lead: Lead, now: Any, end_of_day: Any) -> dict[str, Any]:
    """What a held lead's row (here) and card (the kanban) show: masked phone, when it goes
    back to the pool and whether to warn, whether its next follow-up is overdue or today."""
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


def _row(lead: Lead, now: Any, end_of_day: Any) -> dict[str, Any]:
    row = lead_facts(lead, now, end_of_day)
    row["html"] = _row_html(row)
    return row


def end_of_today(now: Any) -> Any:
    return timezone.localtime(now).replace(hour=23, minute=59, second=59)


def when(value: Any) -> str:
    return formats.date_format(timezone.localtime(value), "m-d H:i")


def _row_html(row: dict[str, Any]) -> SafeString:
    """The row's two ``<tr>`` made here rather than in the template: the template's tags per
    row were 20 of the page's 50 ms at 25 rows (the bench's ``leads_my_leads``)."""
    lead: Lead = row["lead"]
    existing = (
        format_html('<span class="badge bg-purple-lt ms-1">{}</span>', _("Existing customer"))
        if lead.existing_customer
        else ""
    )
    where = " · ".join(
        str(part) for part in (lead.pool.name, lead.get_source_display(), lead.region) if part
    )
    if lead.next_follow_up_at:
        flag = ""
        if row["follow_overdue"]:
            flag = format_html('<span class="text-danger fw-medium">{}</span> ', _("Overdue"))
        elif row["follow_today"]:
            flag = format_html('<span class="text-warning fw-medium">{}</span> ', _("Today"))
        follow = format_html("{}{}", flag, when(lead.next_follow_up_at))
    else:
        follow = format_html('<span class="text-secondary">{}</span>', _("Not planned"))
    if row["recycle_due"]:
        n = row["recycle_days"]
        recycle = format_html(
            '{}<div class="small">{}</div>',
            when(row["recycle_due"]),
            ngettext("%(n)s day left", "%(n)s days left", n) % {"n": n},
        )
    else:
        recycle = "—"
    return format_html(
        '<tr data-testid="my-row"{}>'
        '<td><a href="{}" class="fw-medium">{}</a>{}<div class="small text-secondary">{}</div>'
        "</td>"
        '<td class="font-monospace small text-nowrap">{}</td>'
        '<td><span class="badge bg-{}-lt text-nowrap">{}</span></td>'
        '<td class="text-nowrap" data-testid="my-next">{}</td>'
        '<td class="text-nowrap{}" data-testid="my-recycle">{}</td>'
        '<td class="text-end"><button type="button" class="btn btn-sm" hx-get="{}?compact=1" '
        'hx-target="#fu-{}" hx-swap="outerHTML" data-testid="quick-follow-up-open">{}{}</button>'
        "</td></tr>"
        '<tr class="border-0"><td colspan="6" class="pt-0 border-0"><div id="fu-{}"></div></td>'
        "</tr>",
        mark_safe(' class="table-danger"') if row["follow_overdue"] else "",
        row["url"],
        lead.display_name,
        existing,
        where,
        row["phone"] or "—",
        row["status_color"],
        lead.get_status_display(),
        follow,
        mark_safe(" text-danger fw-medium") if row["recycle_warn"] else "",
        recycle,
        reverse("leads:follow-up", args=[lead.pk]),
        lead.pk,
        icon("note"),
        _("Log follow-up"),
        lead.pk,
    )


def my_load(user: Any) -> dict[str, int] | None:
    """Held / limit and claims today / quota in the rep's home pool (their unit's public pool,
    else the first they work): the head of "my leads" and of the board."""
    pools = pools_for(user)
    home = next((p for p in pools if p.is_public), pools[0] if pools else None)
    return load_of(user, home) if home else None


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
    now = timezone.now()
    end_of_day = end_of_today(now)
    context = {
        "page": page,
        "rows": [_row(lead, now, end_of_day) for lead in page.rows],
        "filters": filters,
        "sort": page.sort,
        "filtered": filters.active,
        "first_page": not request.GET.get("after"),
        "list_key": MY_LIST_KEY,
        "load": my_load(request.user),
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
