"""What a search box's text means (the customer list, the admin, the apps' lists and desks):
a whole identity value looked up exactly, a digit fragment inside phones (only for who may
reveal them, matched on the national number), an e-mail, a name's characters; the condition
each becomes (``parse_search``, ``search_filter``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from crm.models import Customer, Identity, IdentityType
from crm.models.customers import PhoneNational
from crm.normalizers import (
    InvalidIdentity,
    normalize_email,
    normalize_external_id,
    normalize_phone,
    normalize_uscc,
    normalize_wechat_id,
)
from crm.selectors.names import PHONEISH as _PHONEISH
from crm.selectors.names import name_condition, name_fragment

# The type first: a plan that filters rows one by one skips the others' function call.
_mobile = Q(type=IdentityType.MOBILE)

# Identity types a search term is tried as, each through its own normalizer, for an exact
# ``(type, value)`` lookup that the unique index answers.
_EXACT_NORMALIZERS = (
    (IdentityType.MOBILE, normalize_phone),
    (IdentityType.EMAIL, normalize_email),
    (IdentityType.USCC, normalize_uscc),
    (IdentityType.WECHAT_UNIONID, normalize_wechat_id),
    (IdentityType.WECHAT_OPENID, normalize_wechat_id),
    (IdentityType.EXTERNAL, normalize_external_id),
)


def exact_identity_filter(term: str, *, suffix_on: str = "value") -> Q | None:
    """Identities whose full value is ``term`` as any type spells it (``138 0013 8000``,
    ``+86 13800138000``, ``Wang@Example.com``, ``erp:C-1024``), and external ids whose id
    in their source is ``term`` (``C-1024``); ``None`` when no type accepts it.

    Whole values only: anybody may look them up (the masked screens show who owns them)."""
    text = term.strip()
    if not text:
        return None
    condition = Q()
    for type_, normalize in _EXACT_NORMALIZERS:
        try:
            value = normalize(text)
        except InvalidIdentity:
            continue
        condition |= Q(type=type_, value=value)
    if ":" not in text and len(text) >= 3 and not any(c.isspace() for c in text):
        # ``suffix_on="national"`` (a queryset with that alias): the partial trigram index of
        # codes, not the whole-value one, whose ``+8613…`` trigrams a digit suffix also hits.
        condition |= Q(type=IdentityType.EXTERNAL) & Q(**{f"{suffix_on}__endswith": f":{text}"})
    return condition or None


@dataclass(frozen=True)
class SearchPlan:
    """What ``?q=`` searches: identity rows, a name condition, and ``audit``: the kind of
    fragment search inside personal identities (``digits``, ``email``, ``text``) that the
    caller must record (``services.record_pii_search``), or ``""``."""

    identities: QuerySet[Identity] | None
    name: Q | None
    audit: str = ""

    @property
    def empty(self) -> bool:
        return self.identities is None and self.name is None


def parse_search(query: str, *, may_reveal: bool) -> SearchPlan:
    """The search rule for personal identities (see ``crm.normalizers`` on masking).

    Everybody: a full identity (any spelling, normalized), a phone's last four digits (the
    mask shows them), an external id's id in its source, a USCC fragment (not personal), a
    name. Only users who may reveal (``crm.reveal_customer_pii``): fragments inside phones,
    e-mails and other identities, each such search audited by the caller. Without the
    permission a fragment finds nothing, so no series of fragments narrows a mask down."""
    text = query.strip()
    name = _name_match(text)
    exact = exact_identity_filter(text, suffix_on="national")
    condition = exact or Q()
    audit = ""
    if "@" in text:
        if may_reveal and len(text) >= 3 and not _is_full(normalize_email, text):
            condition, audit = Q(type=IdentityType.EMAIL, value__contains=text.lower()), "email"
    elif _PHONEISH.match(text):
        digits = re.sub(r"\D", "", text)
        if may_reveal and len(digits) >= 3 and not _is_full(normalize_phone, text):
            fragment = _digit_fragment(text, digits)
            if fragment is not None:
                condition, audit = condition | fragment, "digits"
        elif len(digits) == 4:
            condition |= _mobile & Q(national__endswith=digits)
    elif len(text) >= 3:
        if may_reveal:
            condition, audit = Q(value__ilike=text), "text"
        else:
            condition |= Q(type=IdentityType.USCC, value__ilike=text)
    identities = (
        Identity.objects.alias(national=PhoneNational("value")).filter(condition)
        if condition
        else None
    )
    return SearchPlan(identities=identities, name=name, audit=audit)


# A country code after "+" (ITU E.164, prefix-free; the SQL twin is crm_phone_national()).
_COUNTRY_CODE = re.compile(
    r"^(1|7|2[07]|3[0-469]|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58]"
    r"|(2[1-689]|3[578]|42|5[09]|6[7-9]|8[035789]|9[679])[0-9])"
)


def _digit_fragment(text: str, digits: str) -> Q | None:
    """Phones whose national number holds ``digits`` (``1354`` in ``+8613541234567``, never
    in its country code), USCCs that hold them; typed after ``+`` and a country code
    (``+86 138``), phones of that country whose national number starts with the rest; with
    a trunk ``0`` (``021 6212``, as the mask shows a landline), also national numbers that
    start with what follows it. Each arm is answered by a partial trigram index."""
    if text.startswith("+"):
        code = _COUNTRY_CODE.match(digits)
        rest = digits[code.end() :] if code else ""
        if code is None or len(rest) < 3:
            return None
        return _mobile & Q(value__startswith=f"+{code[0]}") & Q(national__startswith=rest)
    condition = (_mobile & Q(national__contains=digits)) | (
        Q(type=IdentityType.USCC) & Q(national__contains=digits)
    )
    if digits.startswith("0") and len(digits) > 3:
        condition |= _mobile & Q(national__startswith=digits[1:])
    return condition


def _is_full(normalize: Any, text: str) -> bool:
    try:
        normalize(text)
    except InvalidIdentity:
        return False
    return True


def _name_match(query: str) -> Q | None:
    # One or two characters (王, 王伟): the character/pair array; longer: the trigram index.
    fragment = name_fragment(query)
    return name_condition(fragment) if fragment else None


def search_filter(query: str, *, may_reveal: bool = False) -> Q | None:
    """The condition for ``?q=``; ``None`` when the query says nothing searchable."""
    return _plan_filter(parse_search(query, may_reveal=may_reveal))


def _plan_filter(plan: SearchPlan) -> Q | None:
    if plan.empty:
        return None
    if plan.identities is None:
        return plan.name
    ids = plan.identities.values("customer_id")
    if plan.name is None:
        return Q(pk__in=ids)
    # A UNION of two index scans, not an OR that would scan every customer.
    return Q(pk__in=Customer.objects.filter(plan.name).values("pk").union(ids))


def is_identity_query(query: str) -> bool:
    """A search by a phone number or an e-mail address (what could confirm a guess at a
    masked identity), as opposed to a name or an id."""
    text = query.strip()
    return bool(text) and ("@" in text or bool(_PHONEISH.match(text)))


def may_reveal(user: Any) -> bool:
    return bool(user.has_perm("crm.reveal_customer_pii"))
