"""The blacklist's timeline entries in the reader's language (the reason category only: the
timeline is read by everybody who sees the customer, the evidence by approvers only)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from crm.models import BlacklistReason

_TEXTS = {
    "blacklist.proposed": N_("Blacklisting proposed (%(reason)s)"),
    "blacklist.activated": N_("Customer blacklisted (%(reason)s)"),
    "blacklist.rejected": N_("Blacklisting rejected (%(reason)s)"),
    "blacklist.lifting_proposed": N_("Lifting of the blacklisting proposed (%(reason)s)"),
    "blacklist.lifted": N_("Blacklisting lifted (%(reason)s)"),
    "blacklist.lifting_rejected": N_("Lifting rejected: the blacklisting stays (%(reason)s)"),
}


def describe(event: Any, customer: Any) -> str:
    code = (event.data or {}).get("reason", "")
    reason = BlacklistReason(code).label if code in BlacklistReason.values else code
    return _(_TEXTS[event.type]) % {"reason": reason}
