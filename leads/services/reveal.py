"""Revealing a lead's full contact details (phone, e-mail, WeChat): only for staff who may
see personal identities, and audited like a customer's reveal (one ``PiiAccess`` row, its
``identity_type`` naming the lead: ``lead:<id>``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from crm.models import PiiAccess
from crm.services.pii import RevealNotAllowed
from leads.models import Lead


def reveal_lead_contact(*, lead: Lead, user: Any, ip: str | None = None) -> dict[str, str]:
    """The lead's phone, e-mail and WeChat id in full, after recording who saw them."""
    if not user.has_perm("crm.reveal_customer_pii"):
        raise RevealNotAllowed(_("You may not see full phone numbers and e-mail addresses."))
    PiiAccess.objects.create(
        user=user, customer_id=lead.customer_id, identity_type=f"lead:{lead.pk}"[:20], ip=ip
    )
    return {"phone": lead.phone, "email": lead.email, "wechat": lead.wechat}
