"""Recomputing the customer metrics (``crm/METRICS.md``) set-based, and their monthly snapshots.

``recompute_metrics`` writes the per-unit rows (``crm.services.unit_metrics``), then every live
customer's row in one ``INSERT … SELECT`` over the transactions (and the timeline events that
the registry marks as engagement) into a fresh table that replaces the old one
(``crm.services.table_swap``: customers merged away simply have no row), in one transaction:
readers see the old figures until it commits. An advisory lock makes two runs
(the nightly beat and an administrator's) follow each other instead of colliding.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import (
    SEGMENT_GRID,
    EngagementStage,
    LifecycleStage,
    MetricsSettings,
    RfmSegment,
)
from crm.registry import engagement_event_types
from crm.services.table_swap import prepare_rebuild, start_rebuild, swap_rebuild
from crm.services.unit_metrics import (
    TABLE as UNIT_TABLE,
)
from crm.services.unit_metrics import (
    sync_group_monetary,
    sync_master_copies,
    write_unit_metrics,
)

LOCK_KEY = 20_2020  # pg_advisory_xact_lock key of the metrics writers
TABLE = "crm_customermetrics"


class InvalidReferenceDate(DomainError):
    code = "invalid_reference_date"


def reference_date(value: Any = None, *, metrics_settings: MetricsSettings | None = None) -> date:
    """The reference date: ``value`` (a date or ISO text), else the settings' fixed date, else
    today in the group's time zone."""
    if isinstance(value, date):
        return value
    if value:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise InvalidReferenceDate(
                _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value},
                field="as_of",
            ) from None
    found = (metrics_settings or MetricsSettings.current()).reference_date
    return found or timezone.localdate()


def _segment_values() -> str:
    """The segment table as SQL ``VALUES`` (constants of the code, never user input)."""
    return ", ".join(
        f"({r}, {f + 1}, '{segment}')"
        for r, row in SEGMENT_GRID.items()
        for f, segment in enumerate(row)
    )


def _engagement_cte(types: dict[str, list[str]]) -> str:
    if not any(types.values()):
        return (
            "SELECT NULL::bigint AS customer_id, 0 AS follows, 0 AS interactions, "
            "0 AS referrals WHERE false"
        )
    return """
    SELECT e.customer_id,
           count(*) FILTER (WHERE e.type = ANY(%(follow_types)s::text[])) AS follows,
           count(*) FILTER (WHERE e.type = ANY(%(interaction_types)s::text[])
                              AND e.occurred_at >= %(window_start)s) AS interactions,
           count(*) FILTER (WHERE e.type = ANY(%(referral_types)s::text[])
                              AND e.occurred_at >= %(window_start)s) AS referrals
    FROM crm_timelineevent e
    WHERE e.type = ANY(%(engagement_types)s::text[]) AND e.occurred_at < %(end)s
    GROUP BY e.customer_id"""


# The figures of every live customer as of %(as_of)s, in the words of crm/METRICS.md:
# - tx: transactions up to the end of the reference date (group time zone), each with its
#   calendar day and whether it is a purchase (crm.models.COMPLETED_PURCHASE);
# - seq: each purchase beside the day of the customer's purchase before it (``lag`` over the
#   customer's purchases in time order: one incremental sort of the index's customer order);
# - agg: frequency, monetary (every amount), first/last purchase, purchases of the engagement
#   window, the median of the days between consecutive purchases;
# - units: the units with a purchase, from the per-unit rows written just before;
# - scores: R, F, M scores 1 + floor(5 (rank - 1) / n) among customers with a purchase, RANK()
#   giving ties the lowest rank, over those customers' three figures only (narrow sorts);
#   then segment (table), stage, churn, forecast, engagement.
METRICS_SQL = """
WITH tx AS (
    SELECT t.customer_id, t.amount, t.occurred_at,
           (t.occurred_at AT TIME ZONE %(tz)s)::date AS day,
           (t.kind = 'purchase' AND t.amount > 0 AND t.status <> 'refunded') AS is_purchase
    FROM crm_transaction t
    WHERE t.customer_id IS NOT NULL AND t.occurred_at < %(end)s
), seq AS (
    SELECT tx.*,
           day - lag(day) OVER (
               PARTITION BY customer_id, is_purchase ORDER BY occurred_at) AS gap
    FROM tx
), agg AS (
    SELECT customer_id,
           count(*) FILTER (WHERE is_purchase) AS frequency,
           sum(amount) AS monetary,
           min(occurred_at) FILTER (WHERE is_purchase) AS first_at,
           max(occurred_at) FILTER (WHERE is_purchase) AS last_at,
           min(day) FILTER (WHERE is_purchase) AS first_day,
           max(day) FILTER (WHERE is_purchase) AS last_day,
           count(*) FILTER (WHERE is_purchase AND day > %(window_day)s) AS window_purchases,
           (percentile_cont(0.5) WITHIN GROUP (ORDER BY gap)
               FILTER (WHERE is_purchase AND gap IS NOT NULL))::numeric AS median_gap
    FROM seq GROUP BY customer_id
), units AS (
    SELECT customer_id, array_agg(business_unit_id ORDER BY business_unit_id) AS units
    FROM {unit_table}
    WHERE frequency > 0 AND computed_at = %(now)s
    GROUP BY customer_id
), ev AS ({engagement}
), scores AS (
    SELECT customer_id,
           1 + (5 * (rank() OVER (ORDER BY %(as_of)s::date - last_day DESC) - 1))
               / count(*) OVER () AS r_score,
           1 + (5 * (rank() OVER (ORDER BY frequency) - 1)) / count(*) OVER () AS f_score,
           1 + (5 * (rank() OVER (ORDER BY monetary) - 1)) / count(*) OVER () AS m_score
    FROM agg WHERE frequency > 0
), ranked AS (
    SELECT c.id AS customer_id,
           coalesce(a.frequency, 0) AS frequency,
           coalesce(a.monetary, 0) AS monetary,
           a.first_at, a.last_at, a.first_day,
           %(as_of)s::date - a.last_day AS recency,
           coalesce(a.window_purchases, 0) AS window_purchases,
           coalesce(u.units, '{{}}') AS units,
           a.median_gap,
           coalesce(ev.follows, 0) AS follows,
           coalesce(ev.interactions, 0) AS interactions,
           coalesce(ev.referrals, 0) AS referrals,
           s.r_score, s.f_score, s.m_score
    FROM crm_customer c
    LEFT JOIN agg a ON a.customer_id = c.id
    LEFT JOIN scores s ON s.customer_id = c.id
    LEFT JOIN units u ON u.customer_id = c.id
    LEFT JOIN ev ON ev.customer_id = c.id
    WHERE c.merged_into_id IS NULL
)
INSERT INTO {table} (
    customer_id, as_of, recency_days, frequency, monetary, r_score, f_score, m_score,
    rfm_segment, lifecycle_stage, first_purchase_at, last_purchase_at, median_gap_days,
    churn_risk, churn_overdue_days, lifetime_value, lifetime_value_forecast,
    business_units, business_unit_count, engagement_stage, computed_at
)
SELECT r.customer_id, %(as_of)s, r.recency, r.frequency, r.monetary,
       r.r_score, r.f_score, r.m_score,
       coalesce(g.segment, %(no_purchase)s),
       CASE WHEN r.frequency = 0 THEN %(prospect)s
            WHEN %(as_of)s::date - r.first_day <= %(new_days)s THEN %(new)s
            WHEN r.recency <= %(active_days)s THEN %(active)s
            WHEN r.recency <= %(at_risk_days)s THEN %(at_risk)s
            WHEN r.recency <= %(dormant_days)s THEN %(dormant)s
            ELSE %(lost)s END,
       r.first_at, r.last_at, r.median_gap,
       coalesce(r.frequency >= %(churn_min)s AND r.recency > %(churn_x)s * r.median_gap, false),
       CASE WHEN r.frequency >= %(churn_min)s AND r.recency > %(churn_x)s * r.median_gap
            THEN round(r.recency - %(churn_x)s * r.median_gap, 1) END,
       r.monetary,
       CASE WHEN r.frequency > 0
            THEN round(greatest(r.monetary, 0) * 365 * %(margin)s
                       / greatest(%(as_of)s::date - r.first_day, %(min_tenure)s), 2)
            ELSE 0 END,
       r.units, cardinality(r.units),
       CASE WHEN r.referrals >= %(fan_referrals)s
              OR (r.window_purchases >= %(fan_purchases)s
                  AND r.interactions >= %(fan_interactions)s) THEN %(fan)s
            WHEN r.interactions >= 1 OR r.window_purchases >= 1 THEN %(interactor)s
            WHEN r.follows >= 1 THEN %(follower)s
            ELSE %(passer_by)s END,
       %(now)s
FROM ranked r
LEFT JOIN (VALUES {segments}) AS g(r, f, segment) ON g.r = r.r_score AND g.f = r.f_score
"""


def metrics_sql(
    engagement_types: dict[str, list[str]] | None = None,
    *,
    table: str = "crm_customermetrics",
    unit_table: str = "crm_customerunitmetrics",
) -> str:
    """The statement writing every live customer's row into ``table`` (the fresh table of a
    rebuild, ``crm.services.table_swap``), its units read from ``unit_table`` (the per-unit
    rows of the same run)."""
    types = engagement_types if engagement_types is not None else engagement_event_types()
    return METRICS_SQL.format(
        engagement=_engagement_cte(types),
        segments=_segment_values(),
        table=table,
        unit_table=unit_table,
    )


def metrics_params(
    as_of: date, config: MetricsSettings, engagement_types: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    types = engagement_types if engagement_types is not None else engagement_event_types()
    zone = ZoneInfo(settings.TIME_ZONE)
    end = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=zone)
    window_day = as_of - timedelta(days=config.engagement_window_days)
    return {
        "tz": settings.TIME_ZONE,
        "as_of": as_of,
        "end": end,
        "window_day": window_day,
        "window_start": datetime.combine(window_day + timedelta(days=1), time.min, tzinfo=zone),
        "follow_types": types.get("follow", []),
        "interaction_types": types.get("interaction", []),
        "referral_types": types.get("referral", []),
        "engagement_types": [code for codes in types.values() for code in codes],
        "new_days": config.new_days,
        "active_days": config.active_days,
        "at_risk_days": config.at_risk_days,
        "dormant_days": config.dormant_days,
        "churn_min": config.churn_min_purchases,
        "churn_x": config.churn_gap_multiplier,
        "margin": config.forecast_margin,
        "min_tenure": config.forecast_min_tenure_days,
        "fan_referrals": config.fan_referrals,
        "fan_purchases": config.fan_purchases,
        "fan_interactions": config.fan_interactions,
        "now": timezone.now(),
        "no_purchase": RfmSegment.NO_PURCHASE.value,
        "prospect": LifecycleStage.PROSPECT.value,
        "new": LifecycleStage.NEW.value,
        "active": LifecycleStage.ACTIVE.value,
        "at_risk": LifecycleStage.AT_RISK.value,
        "dormant": LifecycleStage.DORMANT.value,
        "lost": LifecycleStage.LOST.value,
        "fan": EngagementStage.FAN.value,
        "interactor": EngagementStage.INTERACTOR.value,
        "follower": EngagementStage.FOLLOWER.value,
        "passer_by": EngagementStage.PASSER_BY.value,
    }


@dataclass(frozen=True)
class MetricsRun:
    as_of: date
    customers: int
    with_purchase: int
    churn_warnings: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "customers": self.customers,
            "with_purchase": self.with_purchase,
            "churn_warnings": self.churn_warnings,
        }


def recompute_metrics(*, as_of: date | str | None = None) -> MetricsRun:
    """Replace every customer's metrics row by the figures as of ``as_of`` (default: the
    settings' fixed reference date, else today)."""
    config = MetricsSettings.current()
    day = reference_date(as_of, metrics_settings=config)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # The fresh tables' indexes are sorted in memory (the default 64MB spills to disk).
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        # Every join here is between whole sets: a nested loop (chosen when statistics are
        # stale, e.g. right after a bulk load in the same transaction) rescans the
        # transactions per customer and took minutes on the demo's 4,000 customers.
        cursor.execute("SET LOCAL enable_nestloop = off")
        params = metrics_params(day, config)
        # The per-unit rows first (the group's units read them), then the group's; both
        # swapped in at the end, so that neither table is locked while the other is written.
        units = write_unit_metrics(cursor, params, _segment_values())
        fresh = start_rebuild(cursor, TABLE)
        cursor.execute(metrics_sql(table=fresh, unit_table=units), params)
        customers = cursor.rowcount
        sync_group_monetary(cursor, unit_table=units, group_table=fresh)
        unit_renames = prepare_rebuild(cursor, UNIT_TABLE)
        group_renames = prepare_rebuild(cursor, TABLE)
        sync_master_copies(cursor, unit_table=units)
        swap_rebuild(cursor, UNIT_TABLE, unit_renames)
        swap_rebuild(cursor, TABLE, group_renames)
        cursor.execute(  # one pass over the fresh rows for both counts
            "SELECT count(*) FILTER (WHERE frequency > 0), count(*) FILTER (WHERE churn_risk) "
            "FROM crm_customermetrics"
        )
        counts, churn = cursor.fetchone()
    return MetricsRun(as_of=day, customers=customers, with_purchase=counts, churn_warnings=churn)


_SNAPSHOT_CUSTOMERS_SQL = """
INSERT INTO crm_metricssnapshot (
    month, as_of, customer_id, lifecycle_stage, rfm_segment, r_score, f_score, m_score,
    customers, churn_risks, monetary, lifetime_value_forecast, taken_at)
SELECT %(month)s, m.as_of, m.customer_id, m.lifecycle_stage, m.rfm_segment,
       m.r_score, m.f_score, m.m_score, 1, m.churn_risk::int, m.monetary,
       m.lifetime_value_forecast, %(now)s
FROM crm_customermetrics m
"""
_SNAPSHOT_AGGREGATE_SQL = """
INSERT INTO crm_metricssnapshot (
    month, as_of, customer_id, lifecycle_stage, rfm_segment, customers, churn_risks,
    monetary, lifetime_value_forecast, taken_at)
SELECT %(month)s, max(m.as_of), NULL, m.lifecycle_stage, m.rfm_segment, count(*),
       count(*) FILTER (WHERE m.churn_risk), sum(m.monetary), sum(m.lifetime_value_forecast),
       %(now)s
FROM crm_customermetrics m
GROUP BY m.lifecycle_stage, m.rfm_segment
"""


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def snapshot_metrics() -> dict[str, Any]:
    """Copy the current metrics into the snapshot of their reference date's month (replacing
    that month's rows): one row per customer and one per stage and segment."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        cursor.execute("SELECT max(as_of) FROM crm_customermetrics")
        as_of = cursor.fetchone()[0]
        if as_of is None:
            return {"month": "", "customers": 0}
        params = {"month": month_of(as_of), "now": timezone.now()}
        cursor.execute("DELETE FROM crm_metricssnapshot WHERE month = %(month)s", params)
        cursor.execute(_SNAPSHOT_CUSTOMERS_SQL, params)
        customers = cursor.rowcount
        cursor.execute(_SNAPSHOT_AGGREGATE_SQL, params)
    return {"month": params["month"].isoformat(), "customers": customers}


def snapshot_month(*, month: date) -> dict[str, Any]:
    """The snapshot of ``month`` as of its last day (recomputed as of then, then copied)."""
    recompute_metrics(as_of=month_end(month_of(month)))
    return snapshot_metrics()


def previous_months(day: date, count: int) -> list[date]:
    """The first days of the ``count`` months before ``day``'s month, oldest first."""
    months = []
    month = month_of(day)
    for _n in range(count):
        month = month_of(month - timedelta(days=1))
        months.append(month)
    return months[::-1]
