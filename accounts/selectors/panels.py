"""The B2B panels of the customer 360 view (an organization's account, a person's roles)."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP
from typing import Any

from django.db.models import Count, Q, Sum

from accounts.models import Account, Contact, Opportunity
from accounts.selectors.pipeline import CENT, weighted_amount


def organization_panel(user: Any, customer: Any) -> dict[str, Any]:
    """The account summary of an organization: three queries whatever its size."""
    account = (
        Account.objects.visible_to(user)
        .select_related("owner")
        .filter(customer=customer)
        .annotate(
            contact_count=Count("contacts", filter=Q(contacts__left_on__isnull=True), distinct=True)
        )
        .first()
    )
    if account is None:
        return {"account": None}
    open_opps = Opportunity.objects.open().visible_to(user).filter(account=account)
    totals: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in (
        open_opps.values("currency")
        .annotate(count=Count("id"), weighted=Sum(weighted_amount()))
        .order_by("currency")
    ):
        totals[row["currency"]] = {
            "count": row["count"],
            "weighted": row["weighted"].quantize(CENT, ROUND_HALF_UP),
        }
    return {
        "account": account,
        "open_count": sum(t["count"] for t in totals.values()),
        "weighted": [(cur, t["weighted"]) for cur, t in totals.items()],
    }


def person_panel(user: Any, customer: Any) -> dict[str, Any]:
    """Where this person is a contact (accounts the user may see): one query."""
    positions = list(
        Contact.objects.visible_to(user)
        .filter(person=customer)
        .select_related("account__customer")
        .prefetch_related("roles")
        .order_by("left_on", "-id")[:20]
    )
    return {"positions": positions}


def account_panel_context(user: Any, customer: Any) -> dict[str, Any]:
    if customer.kind == "organization":
        return {"kind": "organization", **organization_panel(user, customer)}
    return {"kind": "person", **person_panel(user, customer)}
