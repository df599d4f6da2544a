"""What every lead service shares: the history row, the customer timeline, the notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from crm.models import BusinessUnit
from crm.services import record_event
from leads.models import Lead, LeadEvent, LeadPool, PoolKind

# Timeline event types (registered in ``LeadsConfig.ready``).
EVENT_CREATED = "lead.created"
EVENT_CLAIMED = "lead.claimed"
EVENT_ASSIGNED = "lead.assigned"
EVENT_FOLLOWED_UP = "lead.followed_up"
EVENT_RECYCLED = "lead.recycled"
EVENT_CONVERTED = "lead.converted"
EVENT_LOST = "lead.lost"


def user_or_none(user: Any) -> Any:
    return user if getattr(user, "pk", None) and isinstance(user, get_user_model()) else None


def history(
    lead: Lead,
    kind: str,
    *,
    at: datetime,
    actor: Any = None,
    from_owner: Any = None,
    to_owner: Any = None,
    from_pool: Any = None,
    to_pool: Any = None,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
) -> LeadEvent:
    """One row of the lead's history; ids or objects for the people and pools."""

    def pk(value: Any) -> int | None:
        return value if value is None or isinstance(value, int) else value.pk

    return LeadEvent.objects.create(
        lead=lead,
        kind=kind,
        at=at,
        actor_id=pk(user_or_none(actor)),
        from_owner_id=pk(from_owner),
        to_owner_id=pk(to_owner),
        from_pool_id=pk(from_pool),
        to_pool_id=pk(to_pool),
        from_status=from_status,
        to_status=to_status,
        reason=reason[:40],
        note=note[:500],
        data=data or {},
    )


def timeline(
    lead: Lead, type_: str, summary: str, *, at: datetime, actor: Any = None, **data: Any
) -> None:
    """The matched customer's timeline gets the lead's milestones (no customer: nothing)."""
    if lead.customer_id is None:
        return
    record_event(
        customer=lead.customer_id,
        type=type_,
        summary=summary,
        business_unit=lead.business_unit_id,
        actor=user_or_none(actor),
        occurred_at=at,
        data={"lead": lead.pk, **data},
    )


def notify(user_id: int | None, lead: Lead, kind: str, message: Any, *, at: datetime) -> None:
    """An in-app notification (``crm.services.notify``) about one lead, in the recipient's
    language (``message`` is a callable rendering it), linking to the lead."""
    from crm.services.notifications import notify as crm_notify
    from leads.selectors.panels import lead_url

    if user_id is not None:
        crm_notify(user_id, kind=f"leads.{kind}", title=message, link=lead_url(lead.pk), now=at)


def public_pool(unit: BusinessUnit | int) -> LeadPool:
    """The unit's public pool (公海), created on first use; safe when two callers race."""
    unit_id = unit if isinstance(unit, int) else unit.pk
    pool = LeadPool.objects.filter(business_unit_id=unit_id, kind=PoolKind.PUBLIC).first()
    if pool is not None:
        return pool
    LeadPool.objects.bulk_create(
        [LeadPool(business_unit_id=unit_id, name=_("Public pool"), kind=PoolKind.PUBLIC)],
        ignore_conflicts=True,
    )
    return LeadPool.objects.get(business_unit_id=unit_id, kind=PoolKind.PUBLIC)


def lead_label(lead: Lead) -> str:
    return lead.display_name or _("Lead %(id)s") % {"id": lead.pk}
