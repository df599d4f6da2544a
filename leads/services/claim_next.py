"""Claim-next: the rep takes the pool's oldest unclaimed lead, in the two prepared statements
of ``leads.services.claiming_sql``, under the same locks and rules as every other movement
(``leads.services.claiming``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.prepared import prepared_cursor
from leads.errors import LeadError, LeadNotAllowed, PoolEmpty
from leads.models import Lead, LeadPool
from leads.services import claiming_sql
from leads.services.claiming import (
    Limits,
    check_quota,
    lock_holding,
    may_work_pool,
    refuse_hold,
)
from leads.services.common import EVENT_CLAIMED, timeline, user_or_none


def claim_next(*, pool: LeadPool, user: Any, now: datetime | None = None) -> Lead:
    """The rep claims the pool's oldest unclaimed lead (one nobody else is claiming), in two
    prepared statements (``leads.services.claiming_sql``): the rep's row locked with the
    day's claims and the role limits read, then the held leads counted, the lead picked,
    claimed, its history and the day's count written. Refusals in the order ``claim_lead``
    gives them, raised once the transaction (which wrote nothing) is closed."""
    now = now or timezone.now()
    if not may_work_pool(user, pool):
        raise LeadNotAllowed(_("You do not work this pool."))
    unit_id = pool.business_unit_id
    roles = sorted(user.role_names()) if hasattr(user, "role_names") else []
    params: dict[str, Any] = {
        "user": user.pk,
        "unit": unit_id,
        "pool": pool.pk,
        "roles": roles,
        "today": timezone.localdate(now),
    }
    refusal: LeadError | None = None
    with transaction.atomic(), prepared_cursor() as cursor:
        cursor.execute(claiming_sql.LOCK_SQL, params)
        locked = cursor.fetchone()
        if locked is None:  # the rep's first claim in the unit: make the row, then lock it
            lock_holding(user, unit_id)
            cursor.execute(claiming_sql.LOCK_SQL, params)
            locked = cursor.fetchone()
        claimed_today, role_hold, role_quota = locked
        claims = claimed_today + 1  # the day's claims with this one
        limits = (
            Limits(role_hold, role_quota)
            if role_hold is not None
            else Limits(pool.hold_limit, pool.daily_claim_quota)
        )
        cursor.execute(
            claiming_sql.PICK_SQL,
            {
                **params,
                "held": claiming_sql.HELD,
                "hold_limit": limits.hold_limit,
                "quota_ok": claims <= limits.daily_quota,
                "cooldown_from": now - timedelta(days=pool.cooldown_days),
                "now": now,
                "updated": timezone.now(),
            },
        )
        held, *values = cursor.fetchone()
        try:
            refuse_hold(held, limits, adding=1)
            check_quota(claims, limits)
            if values[0] is None:
                raise PoolEmpty(_("There is no lead left to claim in this pool."))
        except LeadError as refused:  # nothing was written: close the transaction first
            refusal = refused
        else:
            lead = Lead.from_db(connection.alias, claiming_sql.LEAD_ATTNAMES, values)
            if user_or_none(user) is not None:
                lead.owner = user  # the caller's own object: no query to read it back
            timeline(lead, EVENT_CLAIMED, _("Lead claimed"), at=now, actor=user)
    if refusal is not None:
        raise refusal
    return lead
