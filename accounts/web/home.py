"""The accounts app's home card ("My accounts") and global search provider."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.selectors.lists import owned_accounts, search_accounts
from crm import services as crm_services
from crm.registry import SearchResult, WorkItem, WorkList
from crm.selectors import is_identity_query, may_reveal

CARD_ITEMS = 5


def my_accounts_work(user: Any) -> WorkList:
    """The rep's own accounts, the most recently touched first: two queries."""
    accounts = owned_accounts(user=user)
    rows = list(accounts[:CARD_ITEMS])
    items = [
        WorkItem(
            title=a.customer.display_name,
            url=reverse("accounts:detail", args=[a.pk]),
            subtitle=" · ".join(x for x in (a.get_status_display(), a.city or a.province) if x),
            badge=a.get_industry_display() if a.industry else "",
            when=a.updated_at,
        )
        for a in rows
    ]
    total = accounts.count() if len(rows) == CARD_ITEMS else len(rows)
    return WorkList(
        items=items,
        total=total,
        empty_text=_("You own no account yet."),
        see_all_url=reverse("accounts:list") + "?owner=me",
        see_all_label=_("All my accounts"),
        icon="building",
    )


def search_provider(user: Any, query: str, limit: int) -> list[SearchResult]:
    """The global search's accounts: the list's search rule (a fragment inside personal
    identities audited). A phone or e-mail search of a user who may not reveal is left to the
    customers' provider, which counts it against the hourly limit (counted once, not twice)."""
    if is_identity_query(query) and not may_reveal(user):
        return []
    rows, audit = search_accounts(user=user, query=query, limit=limit)
    if audit and rows:  # the customers' provider records the search itself (found or not)
        crm_services.record_pii_search(
            user=user, query=query, kind=audit, customers=[a.customer for a in rows]
        )
    return [
        SearchResult(
            title=a.customer.display_name,
            url=reverse("accounts:detail", args=[a.pk]),
            subtitle=a.get_status_display(),
            badge=f"#{a.pk}",
        )
        for a in rows
    ]
