"""The reps' home card "My leads due today": held leads whose next follow-up is due by
tonight, overdue first (two queries: a page and the count)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.registry import WorkItem, WorkList
from leads.web.queries import due_today


def due_today_work(user: Any) -> WorkList:
    leads, total = due_today(user)
    now = timezone.now()
    items = [
        WorkItem(
            lead.display_name,
            reverse("leads:detail", args=[lead.pk]),
            subtitle=lead.get_status_display(),
            badge=_("Overdue")
            if lead.next_follow_up_at and lead.next_follow_up_at < now
            else _("Today"),
            badge_color="red"
            if lead.next_follow_up_at and lead.next_follow_up_at < now
            else "yellow",
            when=lead.next_follow_up_at,
        )
        for lead in leads
    ]
    return WorkList(
        items=items,
        total=total,
        empty_text=_("No follow-up due today."),
        see_all_url=reverse("leads:mine") + "?due=today",
        see_all_label=_("All my leads due today"),
        icon="phone",
    )
