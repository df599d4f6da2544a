"""The group overview's rows read from the monthly rollup (campaigns/ROLLUP.md): the same
rows as the two aggregate queries over the coupons, from cells by template and month
instead of coupons, so that the overview costs the same at 5,000 coupons or 5,000,000.

Exact for whole months in the group's zone: a period from the 1st of a month to the last day
of a month, shown in ``settings.TIME_ZONE`` (the zone the cells' months are in)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaigns.models import CouponMonthRollup, CouponRollupState, CouponTemplate, TemplateFunding
from crm.models import BusinessUnit


def _whole_months(start: date, end: date) -> bool:
    return start.day == 1 and (end + timedelta(days=1)).day == 1


def rollup_state_for(start: date, end: date) -> CouponRollupState | None:
    """The rollup's state when it can answer for this period (whole months, the group's
    zone, refreshed at least once); ``None``: compute from the coupons."""
    if not _whole_months(start, end):
        return None
    if timezone.get_current_timezone_name() != settings.TIME_ZONE:
        return None
    return CouponRollupState.objects.filter(pk=1).first()


_CELLS = f"""
    FROM {CouponMonthRollup._meta.db_table} r
    JOIN {CouponTemplate._meta.db_table} t ON t.id = r.template_id
    WHERE r.issued_month >= %(start)s AND r.issued_month <= %(last)s
      AND (r.redeemed_month IS NULL OR r.redeemed_month <= %(last)s)
"""
_UNIT_ROWS_SQL = f"""
    SELECT r.business_unit_id, u.name, t.currency, r.issued_month, r.redeemed_month,
           sum(r.issued)::bigint, sum(r.redeemed)::bigint, sum(r.discount), sum(r.revenue)
    {_CELLS}
      AND (%(every)s OR r.business_unit_id = ANY(%(units)s::bigint[]))
    GROUP BY 1, 2, 3, 4, 5
""".replace("JOIN", f"JOIN {BusinessUnit._meta.db_table} u ON u.id = r.business_unit_id JOIN", 1)
_PAIR_ROWS_SQL = f"""
    SELECT f.business_unit_id, fu.name, r.redeemed_business_unit_id, ru.name, t.currency,
           sum(r.redeemed)::bigint, sum(r.discount * f.share / 100)
    {_CELLS}
      AND r.redeemed_month IS NOT NULL AND f.business_unit_id <> r.redeemed_business_unit_id
      AND (%(every)s OR f.business_unit_id = ANY(%(units)s::bigint[])
           OR r.redeemed_business_unit_id = ANY(%(units)s::bigint[]))
    GROUP BY 1, 2, 3, 4, 5
""".replace(
    "WHERE",
    f"JOIN {TemplateFunding._meta.db_table} f ON f.template_id = r.template_id "
    f"JOIN {BusinessUnit._meta.db_table} fu ON fu.id = f.business_unit_id "
    f"JOIN {BusinessUnit._meta.db_table} ru ON ru.id = r.redeemed_business_unit_id WHERE",
    1,
)
_UNIT_KEYS = (
    "business_unit_id",
    "business_unit__name",
    "template__currency",
    "issued_month",
    "redeemed_month",
    "issued",
    "redeemed",
    "discount",
    "revenue",
)
_PAIR_KEYS = (
    "funder",
    "template__fundings__business_unit__name",
    "redeemed_business_unit_id",
    "redeemed_business_unit__name",
    "template__currency",
    "n",
    "amount",
)


def rollup_rows(units_seen: set[int] | None, start: date, end: date) -> tuple[Any, Any]:
    """Per (unit, currency, month of issue, month of redemption): issued, redeemed, discount,
    revenue; per (funder, redeemer, currency): redemptions and what the funder paid (the
    same rows, with the same keys, as the coupons' queries). The currency and the funding
    shares are the templates' as they are now, as the coupons' queries read them. Plain SQL
    over a few hundred cells: building the ORM's statements cost more than running them."""
    params: dict[str, Any] = {
        "start": start,
        "last": end.replace(day=1),
        "every": units_seen is None,
        "units": sorted(units_seen or ()),
    }
    with connection.cursor() as cursor:
        cursor.execute(_UNIT_ROWS_SQL, params)
        unit_rows = [dict(zip(_UNIT_KEYS, row, strict=True)) for row in cursor.fetchall()]
        cursor.execute(_PAIR_ROWS_SQL, params)
        pair_rows = [dict(zip(_PAIR_KEYS, row, strict=True)) for row in cursor.fetchall()]
    return unit_rows, pair_rows
