"""Finding leads by what a rep types: a fragment of the lead's name or its company's, or a
phone (its last four digits, or the whole number however typed).

Names follow the customer master's rule (``crm.selectors.names``) on ``name || ' ' ||
company`` (``LeadNames``): one or two characters (王伟, the usual Chinese fragment) in its
characters and pairs (``Lead.name_grams``, a GIN index), three or more by trigram (a GIN
index on the expression). Both stay fast at a million leads (the bench's ``leads_pool_list``
and ``leads_my_leads``, their "search" inputs)."""

from __future__ import annotations

from django.db.models import Q

from crm.errors import DomainError
from crm.normalizers import normalize_phone
from crm.selectors.names import name_condition, name_fragment
from leads.models import LeadNames

NOTHING = Q(pk__in=[])


def name_search(query: str) -> Q | None:
    """Leads whose name or company contains ``query``; ``None`` when it is no name (empty,
    a phone number, an e-mail address)."""
    fragment = name_fragment(query)
    return name_condition(fragment, text=LeadNames()) if fragment else None


def search_condition(query: str) -> Q:
    """The lists' ``q``: a fragment of the name or company, a phone's last four digits, or a
    whole phone number; anything else matches nothing."""
    digits = "".join(ch for ch in query if ch.isdigit())
    if digits and len(digits) == len(query.replace(" ", "").lstrip("+")):
        if len(digits) == 4:
            return Q(phone__endswith=digits)
        try:
            return Q(phone=normalize_phone(query))
        except DomainError:  # not a phone number: nothing matches
            return NOTHING
    return name_search(query) or NOTHING
