"""Searching by a fragment of a name: the master's rule, for every table that has names.

One or two characters (王, 王伟) are looked up in the array of the name's characters and
character pairs (``crm_name_grams``, a GIN index): pg_trgm cannot index fewer than three
characters, and a Chinese name's fragment is usually two. Three characters or more
(王伟华, "zhang") are an ``ILIKE`` that the name's trigram GIN index answers.

The array is a stored generated column (``Customer.name_grams``, ``Lead.name_grams``); the
trigram index may be on a column or on an expression (a lead's name and company)."""

from __future__ import annotations

import re

from django.db.models import Expression, Q

from crm.models.lookups import ILikeContains

PHONEISH = re.compile(r"^[0-9+()\-\s]+$")
SHORT = 2  # fragments up to this many characters (spaces left out) use the grams


def name_fragment(query: str) -> str:
    """The fragment of a name ``query`` looks for, lower-case with its spaces collapsed;
    ``""`` when it is empty or reads as a phone number or an e-mail address."""
    text = " ".join(query.split()).lower()
    if not text or PHONEISH.match(text) or "@" in text:
        return ""
    return text


def is_short(fragment: str) -> bool:
    """Whether the grams answer ``fragment`` (one or two characters, spaces left out)."""
    return len(fragment.replace(" ", "")) <= SHORT


def name_condition(
    fragment: str, *, grams: str = "name_grams", text: str | Expression = "display_name"
) -> Q:
    """Rows whose name contains ``fragment`` (from ``name_fragment``). ``grams``: the column
    of the name's characters and pairs; ``text``: the name, a column's name or the expression
    its trigram index is on (``leads.models.LeadNames``)."""
    if is_short(fragment):
        return Q(**{f"{grams}__contains": [fragment.replace(" ", "")]})
    if isinstance(text, str):
        return Q(**{f"{text}__ilike": fragment})
    return Q(ILikeContains(text, fragment))
