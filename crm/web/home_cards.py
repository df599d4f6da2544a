"""The home page's work lists of the customer master (registered in ``crm.apps``).

Each builder returns a ``crm.registry.WorkList`` in a fixed number of queries (a page of
items and, where shown, one count); names are shown as every screen shows them (a generated
name is the masked identity, styled as a placeholder)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm import selectors
from crm.imports import IMPORT_JOB_KIND
from crm.money import format_count
from crm.registry import WorkItem, WorkList, registered_lists
from crm.roles import ADMIN, DATA_STEWARD, MARKETING
from crm.selectors import source_label

CARD_ITEMS = 5
# Who follows the imports: the data steward who keeps the master clean, and those who import.
DATA_STEWARD_ROLES = frozenset({ADMIN, DATA_STEWARD, MARKETING})


def _customer_title(customer: Any) -> str:
    """The name as every screen shows it (a generated one reads as an unnamed customer with
    its masked identity), and the customer's number."""
    return f"{customer.shown_name} ({customer.number})"


def duplicates_work(user: Any) -> WorkList:
    """Open duplicate candidates, oldest first: two queries (a page, the count)."""
    waiting = selectors.duplicates_waiting()
    items = []
    for candidate in waiting[:CARD_ITEMS]:
        a, b = candidate.customer_a, candidate.customer_b
        items.append(
            WorkItem(
                title=f"{_customer_title(a)} ~ {_customer_title(b)}",
                url=reverse("duplicate-review", args=[candidate.pk]),
                subtitle=candidate.get_reason_display(),
                badge=_("score %(score)d") % {"score": candidate.score},
                badge_color="orange" if candidate.score >= 80 else "secondary",
                when=candidate.created_at,
            )
        )
    total = waiting.count() if len(items) == CARD_ITEMS else len(items)
    return WorkList(
        items=items,
        total=total,
        empty_text=_("No duplicate waiting for review."),
        see_all_url=reverse("duplicate-list"),
        see_all_label=_("Review all duplicates"),
        icon="copy",
    )


def import_errors_work(user: Any) -> WorkList:
    """Imports of the last 30 days the user may see that failed or rejected rows."""
    jobs = selectors.jobs_with_errors(user=user, kind=IMPORT_JOB_KIND)
    items = []
    for job in jobs[:CARD_ITEMS]:
        result = job.result or {}
        rejected = int(result.get("rejected") or 0)
        if job.status == "failed":
            subtitle, badge, color = job.error or job.message, _("Failed"), "red"
        else:
            subtitle = ngettext("%(count)s row rejected", "%(count)s rows rejected", rejected) % {
                "count": format_count(rejected)
            }
            badge, color = _("Errors"), "orange"
        source = job.params.get("source")
        where = [job.business_unit.code if job.business_unit else "", source_label(source)]
        items.append(
            WorkItem(
                title=str(result.get("filename") or job.params.get("filename") or job.label),
                url=reverse("job-detail", args=[job.pk]),
                subtitle=" · ".join([*(w for w in where if w), subtitle]),
                badge=badge,
                badge_color=color,
                when=job.created_at,
            )
        )
    total = jobs.count() if len(items) == CARD_ITEMS else len(items)
    return WorkList(
        items=items,
        total=total,
        empty_text=_("No import with errors in the last 30 days."),
        see_all_url=reverse("job-list"),
        see_all_label=_("All background jobs"),
        icon="alert-triangle",
    )


def recent_customers_work(user: Any) -> WorkList:
    """The customers the user opened last (one query)."""
    items = [
        WorkItem(
            title=_customer_title(row.customer),
            url=reverse("customer-detail", args=[row.customer.pk]),
            subtitle=row.customer.get_kind_display(),
            when=row.viewed_at,
            placeholder=row.customer.name_is_generated,
        )
        for row in selectors.recent_customers(user=user, limit=8)
    ]
    return WorkList(
        items=items,
        empty_text=_("Customers you open appear here, so you find them again quickly."),
        see_all_url=reverse("customer-list"),
        see_all_label=_("All customers"),
        icon="clock",
    )


def saved_views_work(user: Any) -> WorkList:
    """The user's saved views on every list they may open (one query)."""
    lists = registered_lists()
    items = []
    for view in selectors.saved_views(user=user)[:20]:
        spec = lists.get(view.list_key)
        if spec is None or (spec.permission and not user.has_perm(spec.permission)):
            continue
        url = reverse(spec.url_name) + (f"?{view.query}" if view.query else "")
        items.append(WorkItem(title=view.name, url=url, subtitle=str(spec.label)))
    return WorkList(
        items=items[:10],
        empty_text=_("Filter a list and choose “Save this view” to come back to it in one click."),
        see_all_url=reverse("saved-view-list"),
        see_all_label=_("Manage saved views"),
        icon="star",
    )
