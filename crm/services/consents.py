"""Consents: a customer's grants and withdrawals per channel and purpose, kept as history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import BusinessUnit, Consent, ConsentChannel, ConsentPurpose, Customer
from crm.services.customers import record_event


def record_consent(
    *,
    customer: Customer,
    channel: str,
    purpose: str,
    granted: bool,
    source: str,
    actor: Any = None,
    occurred_at: datetime | None = None,
    business_unit: BusinessUnit | None = None,
) -> Consent:
    """Append a grant or withdrawal; the history is kept, the latest row is the state."""
    if channel not in ConsentChannel.values:
        raise DomainError(_("Unknown consent channel."), field="channel")
    if purpose not in ConsentPurpose.values:
        raise DomainError(_("Unknown consent purpose."), field="purpose")
    if not source.strip():
        raise DomainError(_("Say where the consent came from."), field="source")
    with transaction.atomic():
        consent = Consent.objects.create(
            customer=customer,
            channel=channel,
            purpose=purpose,
            granted=granted,
            source=source.strip()[:60],
            actor=actor if getattr(actor, "pk", None) else None,
            occurred_at=occurred_at or timezone.now(),
        )
        label = f"{ConsentChannel(channel).label} / {ConsentPurpose(purpose).label}"
        record_event(
            customer=customer,
            type="consent.granted" if granted else "consent.withdrawn",
            summary=(
                _("Consent granted: %(what)s") if granted else _("Consent withdrawn: %(what)s")
            )
            % {"what": label},
            business_unit=business_unit,
            actor=actor,
            occurred_at=consent.occurred_at,
            data={"channel": channel, "purpose": purpose, "source": consent.source},
        )
    return consent
