"""The customer metrics on screen (``crm/METRICS.md``): the dashboards, the churn warnings,
the 360 view's panel and the home page's card for marketing."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from crm.models import CustomerMetrics, RfmSegment
from crm.models.metrics import HELP
from crm.registry import WorkItem, WorkList
from crm.selectors.metrics import churn_warnings, customer_metrics, metrics_dashboard
from crm.web.components import paginate, sort_param

DASHBOARD_PERMISSION = "crm.view_metricssnapshot"
VIEW_PERMISSION = "crm.view_customermetrics"
CARD_ITEMS = 5
CHURN_SORTS = ("churn_overdue_days", "last_purchase_at", "lifetime_value", "frequency")


@require_GET
@permission_required(DASHBOARD_PERMISSION, raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    data = metrics_dashboard()
    heat = [[row["f"] - 1, row["r"] - 1, row["customers"], row["monetary"]] for row in data.heatmap]
    return render(
        request,
        "crm/metrics/dashboard.html",
        {
            "data": data,
            "heat": heat,
            "help": HELP,
            "can_recompute": request.user.has_perm("crm.recompute_customermetrics"),
        },
    )


@require_GET
@permission_required(VIEW_PERMISSION, raise_exception=True)
def churn_list(request: HttpRequest) -> HttpResponse:
    """Every churn warning, the most overdue first (or sorted by a column), paginated."""
    sort = sort_param(request, CHURN_SORTS, "-churn_overdue_days")
    rows = churn_warnings().order_by(sort, "-customer_id")
    page = paginate(request, rows)
    return render(
        request,
        "crm/metrics/churn.html",
        {"page": page, "sort": sort, "help": HELP, "computed": CustomerMetrics.objects.exists()},
    )


def panel_context(user: Any, customer: Any) -> dict[str, Any]:
    """The 360 view's metrics panel: the customer's row (one query) and the definitions."""
    return {"metrics": customer_metrics(customer), "help": HELP}


def churn_work(user: Any) -> WorkList:
    """Customers at risk of churn, the most overdue first: two queries (a page, the count)."""
    warnings = churn_warnings()
    segments = dict(RfmSegment.choices)
    items = []
    for row in warnings[:CARD_ITEMS]:
        c = row.customer
        last = localtime(row.last_purchase_at).strftime("%Y-%m-%d") if row.last_purchase_at else ""
        subtitle = _("Last purchase %(day)s; usually every %(gap)s days") % {
            "day": last,
            "gap": row.median_gap_days,
        }
        items.append(
            WorkItem(
                title=f"{c.shown_name} ({c.number})",
                url=reverse("customer-detail", args=[c.pk]),
                subtitle=f"{subtitle} · {segments.get(row.rfm_segment, row.rfm_segment)}",
                badge=_("%(days)s days overdue") % {"days": row.churn_overdue_days},
                badge_color="red",
                placeholder=c.name_is_generated,
            )
        )
    total = warnings.count() if len(items) == CARD_ITEMS else len(items)
    return WorkList(
        items=items,
        total=total,
        empty_text=_("No customer is overdue for a purchase."),
        see_all_url=reverse("metrics-churn"),
        see_all_label=_("All churn warnings"),
        icon="alert-triangle",
    )
