"""Personal identities: revealing them (audited), auditing searches inside them (keyed
digests, never the term), and the hourly limit on identity searches by staff who may not
reveal; the customer search provider that applies those rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from crm import selectors
from crm.errors import DomainError
from crm.models import PII_IDENTITY_TYPES, Customer, Identity, PiiAccess
from crm.ratelimit import count_hit
from crm.registry import SearchResult


class RevealNotAllowed(DomainError):
    code = "reveal_not_allowed"
    status = 403


def reveal_identities(
    *, customer: Customer, user: Any, identity_type: str, ip: str | None = None
) -> list[Identity]:
    """A customer's full identities of one personal type (phones, e-mails, WeChat ids,
    external ids), for a user allowed to see them; audited (one ``PiiAccess`` row)."""
    if not user.has_perm("crm.reveal_customer_pii"):
        raise RevealNotAllowed(_("You may not see full phone numbers and e-mail addresses."))
    if identity_type not in PII_IDENTITY_TYPES:
        raise DomainError(
            _("“%(type)s” is not a personal identity type.") % {"type": identity_type[:30]},
            field="type",
        )
    with transaction.atomic():
        PiiAccess.objects.create(
            user=user, customer=customer, identity_type=identity_type, ip=ip or None
        )
        return list(customer.identities.filter(type=identity_type))


def pii_search_digest(query: str) -> str:
    """The keyed digest of a search term kept in the audit (``PiiAccess.search``).

    Not the term: a fragment of a phone or an e-mail is personal data, and an unkeyed hash
    of a few digits is reversed by trying them all. HMAC-SHA256 keyed by the server's secret,
    over the term as searched (spaces and case ignored), 32 hex digits. To check whether a
    term was searched: ``PiiAccess.objects.filter(search=pii_search_digest(term))``."""
    canonical = "".join(query.split()).lower()
    return salted_hmac("crm.pii_search", canonical, algorithm="sha256").hexdigest()[:32]


def record_pii_search(
    *,
    user: Any,
    query: str,
    kind: str,
    customers: Iterable[Customer],
    ip: str | None = None,
) -> int:
    """Audit a search inside personal identities (``selectors.parse_search`` says when):
    one ``PiiAccess`` row per customer shown, or one without a customer when none was.
    Returns the rows written (one query)."""
    digest = pii_search_digest(query)
    shown: list[int | None] = [c.pk for c in customers] or [None]
    rows = PiiAccess.objects.bulk_create(
        PiiAccess(
            user=user,
            customer_id=pk,
            identity_type=f"search:{kind}"[:20],
            search=digest,
            ip=ip or None,
        )
        for pk in shown
    )
    return len(rows)


class IdentitySearchesExhausted(DomainError):
    code = "identity_searches_exhausted"
    status = 429


def check_identity_search(*, user: Any, query: str) -> None:
    """Count a search by phone or e-mail of a user who may not reveal; refuse it beyond
    ``IDENTITY_SEARCHES_PER_HOUR``. The mask shows 7 of a mobile's 11 digits, so full-number
    searches could otherwise confirm a masked number in at most 10,000 tries."""
    if not selectors.is_identity_query(query) or selectors.may_reveal(user):
        return
    hits, _left = count_hit(f"identity_search:{user.pk}", 3600)
    if hits > settings.IDENTITY_SEARCHES_PER_HOUR:
        raise IdentitySearchesExhausted(
            _(
                "You have searched by phone number or e-mail %(n)d times in the last hour; "
                "try again later or search by name."
            )
            % {"n": settings.IDENTITY_SEARCHES_PER_HOUR},
            field="q",
        )


def search_customers(user: Any, query: str, limit: int) -> list[SearchResult]:
    """Global search provider: the customer list's search and rule (a fragment inside
    personal identities only for those who may reveal, audited)."""
    try:
        check_identity_search(user=user, query=query)
    except IdentitySearchesExhausted:
        return []
    page = selectors.customer_list(user=user, query=query, page_size=limit)
    if page.audit:
        record_pii_search(user=user, query=query, kind=page.audit, customers=page.rows)
    return selectors.customer_search_results(page.rows)
