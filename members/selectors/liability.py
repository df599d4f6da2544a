"""The programme's points liability: per funding unit, the points it funded that are still
outstanding on a date (earned − redeemed − expired − reversed), valued at that day's point
value. One query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.utils import timezone

from members.models import PointValue

_LIABILITY_SQL = """
SELECT u.id, u.code, u.name,
       coalesce(e.earned, 0) AS earned,
       coalesce(c.consumed, 0) AS consumed
FROM crm_businessunit u
LEFT JOIN (
    SELECT funding_business_unit_id AS unit, sum(amount) AS earned
    FROM members_pointslot WHERE earned_at < %(until)s GROUP BY 1
) e ON e.unit = u.id
LEFT JOIN (
    SELECT l.funding_business_unit_id AS unit, sum(c.points) AS consumed
    FROM members_lotconsumption c JOIN members_pointslot l ON l.id = c.lot_id
    WHERE c.created_at < %(until)s GROUP BY 1
) c ON c.unit = u.id
WHERE e.earned IS NOT NULL
ORDER BY u.code
"""


@dataclass
class Liability:
    business_unit_id: int
    code: str
    name: str
    earned: int
    consumed: int
    outstanding: int
    value: Decimal


def points_liability(*, as_of: date | None = None) -> list[Liability]:
    """Outstanding points per funding unit at the end of ``as_of`` (today by default)."""
    as_of = as_of or timezone.localdate()
    until = timezone.make_aware(datetime.combine(as_of, time.max))
    point_value = PointValue.on(as_of)
    with connection.cursor() as cursor:
        cursor.execute(_LIABILITY_SQL, {"until": until})
        rows = cursor.fetchall()
    return [
        Liability(
            business_unit_id=pk,
            code=code,
            name=name,
            earned=int(earned),
            consumed=int(consumed),
            outstanding=int(earned) - int(consumed),
            value=(point_value * (int(earned) - int(consumed))).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP
            ),
        )
        for pk, code, name, earned, consumed in rows
    ]
