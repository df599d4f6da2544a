"""Customer merge: the loser's leads are re-linked to the survivor."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from leads.models import Lead, LeadEvent, LeadEventKind


def move_lead_data(*, survivor: Any, loser: Any, **_: Any) -> int:
    """Merge handler (inside ``merge_customers``' transaction); returns the leads moved."""
    ids = list(Lead.objects.filter(customer=loser).values_list("pk", flat=True))
    if not ids:
        return 0
    Lead.objects.filter(pk__in=ids).update(customer=survivor, updated_at=timezone.now())
    now = timezone.now()
    LeadEvent.objects.bulk_create(
        LeadEvent(
            lead_id=pk,
            kind=LeadEventKind.MERGED,
            at=now,
            data={"from_customer": loser.pk, "to_customer": survivor.pk},
        )
        for pk in ids
    )
    return len(ids)
