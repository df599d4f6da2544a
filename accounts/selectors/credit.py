"""Reading credit: the effective limit (0 while blacklisted), the credit section of an account
(a fixed number of queries, whatever the evidence and history), the partner look-up (one
query), the owners' reviews due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery, Window
from django.utils import timezone
from django.utils.timezone import localtime

from accounts.models import (
    Account,
    CreditEvidence,
    CreditProfile,
    CreditScoreChange,
    EvidenceEffect,
    EvidenceKind,
)
from crm.models.blacklist import BINDING_STATUSES, BlacklistEntry
from crm.selectors.blacklist import active_blacklist_entry

EVIDENCE_PAGE_SIZE = 10
SERIES_POINTS = 60
ZERO = Decimal("0.00")


def effective_credit_limit(account: Account) -> Decimal:
    """The limit the group may extend: the profile's, 0 without a profile, and 0 while the
    customer is blacklisted (active, or its lifting not yet approved). Two queries."""
    if active_blacklist_entry(account.customer_id) is not None:
        return ZERO
    profile = CreditProfile.objects.filter(account_id=account.pk).first()
    return ZERO if profile is None else profile.credit_limit


def _limit(profile: CreditProfile | None, blacklisted: bool) -> Decimal:
    return ZERO if profile is None or blacklisted else profile.credit_limit


_UNREAD: Any = object()


def credit_section_context(
    user: Any,
    account: Account,
    *,
    page: int = 1,
    form: dict[str, Any] | None = None,
    open_entry: Any = _UNREAD,
    profile: Any = _UNREAD,
) -> dict[str, Any]:
    """The context of ``accounts/credit/section.html`` (under ``credit``) for an account the
    caller may see: profile, blacklist effect, one page of evidence (newest observation
    first), the score series for the chart, what the caller may do. Four queries (profile,
    blacklist entry, the evidence page with the number of all of it, history), plus the
    caller's permissions once per request. ``open_entry``: the customer's open blacklist
    entry (or ``None``) when the caller has read it already (the page's banner): one query
    less; ``profile`` likewise, the account's profile or ``None`` (read with the page's
    header)."""
    if profile is _UNREAD:
        profile = (
            CreditProfile.objects.filter(account_id=account.pk)
            .select_related("account__owner")
            .first()
        )
    if open_entry is _UNREAD:
        blacklist = active_blacklist_entry(account.customer_id)
    else:  # at most one open entry per customer: binding, or proposed (not yet binding)
        binding = open_entry is not None and open_entry.status in BINDING_STATUSES
        blacklist = open_entry if binding else None
    evidence = CreditEvidence.objects.filter(account_id=account.pk).select_related("recorded_by")
    # The page and the number of all the evidence in one query (the total on every row).
    page = max(1, page)
    start = (page - 1) * EVIDENCE_PAGE_SIZE
    rows = list(
        evidence.annotate(total=Window(Count("*"))).order_by("-observed_on", "-id")[
            start : start + EVIDENCE_PAGE_SIZE
        ]
    )
    total = rows[0].total if rows else (evidence.count() if page > 1 else 0)  # type: ignore[attr-defined]
    pages = max(1, -(-total // EVIDENCE_PAGE_SIZE))
    if page > pages:  # past the end: the last page
        page = pages
        start = (page - 1) * EVIDENCE_PAGE_SIZE
        rows = list(evidence.order_by("-observed_on", "-id")[start : start + EVIDENCE_PAGE_SIZE])
    history = list(
        CreditScoreChange.objects.filter(account_id=account.pk)
        .order_by("-at", "-id")
        .values("at", "score_after", "rating_after", "reason")[:SERIES_POINTS]
    )
    history.reverse()
    return {
        "credit": {
            "account": account,
            "profile": profile,
            "blacklist": blacklist,
            "effective_limit": _limit(profile, blacklist is not None),
            "evidence": rows,
            "evidence_total": total,
            "page": page,
            "pages": pages,
            "previous_page": page - 1 if page > 1 else None,
            "next_page": page + 1 if page < pages else None,
            "series": [
                {
                    "at": localtime(h["at"]).strftime("%Y-%m-%d %H:%M"),
                    "score": h["score_after"],
                    "rating": h["rating_after"],
                }
                for h in history
            ],
            "can_add": user.has_perm("accounts.add_creditevidence"),
            "can_review": user.has_perm("accounts.review_creditprofile"),
            "kinds": EvidenceKind.choices,
            "effects": EvidenceEffect.choices,
            "form": form or {},
            "today": timezone.localdate(),
            "series_id": f"credit-series-{account.pk}",
        }
    }


@dataclass(frozen=True)
class CreditLookup:
    """What a partner reads about an account's credit: never the evidence, nor why or by
    whom a customer was blacklisted."""

    account_id: int
    customer_id: int
    rating: str | None
    score: int | None
    credit_limit: Decimal
    currency: str
    next_review_on: Any
    blacklisted: bool
    blacklisted_since: datetime | None


def credit_lookup_queryset(user: Any) -> QuerySet[Account]:
    """The accounts ``user`` (a partner key: its unit's) may look up, with the profile and
    since when the customer is blacklisted: one query per look-up."""
    binding = BlacklistEntry.objects.filter(
        customer_id=OuterRef("customer_id"), status__in=BINDING_STATUSES
    ).order_by("-decided_at")
    return (
        Account.objects.visible_to(user)
        .filter(customer__merged_into__isnull=True)
        .select_related("credit_profile")
        .annotate(
            blacklisted=Exists(binding),
            blacklisted_since=Subquery(binding.values("decided_at")[:1]),
        )
    )


def credit_lookup(
    user: Any, *, account_id: int | None = None, uscc: str | None = None
) -> CreditLookup | None:
    """The credit of one account by id or by (normalized) USCC, or ``None`` outside scope."""
    accounts = credit_lookup_queryset(user)
    if account_id is not None:
        accounts = accounts.filter(pk=account_id)
    if uscc is not None:
        accounts = accounts.filter(
            customer__identities__type="uscc", customer__identities__value=uscc
        )
    account = accounts.first()
    if account is None:
        return None
    profile = getattr(account, "credit_profile", None)
    since = account.blacklisted_since  # type: ignore[attr-defined]
    blacklisted = bool(account.blacklisted)  # type: ignore[attr-defined]
    return CreditLookup(
        account_id=account.pk,
        customer_id=account.customer_id,
        rating=profile.rating if profile else None,
        score=profile.score if profile else None,
        credit_limit=_limit(profile, blacklisted),
        currency=profile.currency if profile else "CNY",
        next_review_on=profile.next_review_on if profile else None,
        blacklisted=blacklisted,
        blacklisted_since=since,
    )


def credit_reviews_due(user: Any) -> QuerySet[CreditProfile]:
    """The flagged reviews of the accounts ``user`` owns, the longest overdue first."""
    return (
        CreditProfile.objects.due()
        .filter(account__owner_id=user.pk)
        .select_related("account__customer")
        .order_by("next_review_on", "id")
    )
