"""The per-unit customer metrics (``crm/METRICS.md``, "Per business unit"), written by
``recompute_metrics`` in its transaction beside the group-wide rows: one
``INSERT … SELECT … ON CONFLICT DO UPDATE`` grouped by customer and unit (read in the order of
the ``transaction_customer_totals`` index, so neither sorted nor hashed), then a ``DELETE`` of
the pairs it did not write."""

from __future__ import annotations

from typing import Any

# The figures of every live customer in every unit with a transaction of theirs, as of
# %(as_of)s: frequency, monetary, first/last purchase and recency over that unit's rows; R, F, M
# scores ranked among the unit's customers with a purchase (same formula as the group's); the
# segment from the same table; the stage by the unit's thresholds, else the group's.
UNIT_METRICS_SQL = """
WITH agg AS (
    SELECT t.customer_id, t.business_unit_id,
           count(*) FILTER (WHERE t.kind = 'purchase' AND t.amount > 0
                              AND t.status <> 'refunded') AS frequency,
           sum(t.amount) AS monetary,
           min(t.occurred_at) FILTER (WHERE t.kind = 'purchase' AND t.amount > 0
                                        AND t.status <> 'refunded') AS first_at,
           max(t.occurred_at) FILTER (WHERE t.kind = 'purchase' AND t.amount > 0
                                        AND t.status <> 'refunded') AS last_at
    FROM crm_transaction t
    WHERE t.customer_id IS NOT NULL AND t.occurred_at < %(end)s
    GROUP BY t.customer_id, t.business_unit_id
), base AS (
    SELECT a.customer_id, a.business_unit_id, a.frequency, coalesce(a.monetary, 0) AS monetary,
           a.first_at, a.last_at,
           %(as_of)s::date - (a.first_at AT TIME ZONE %(tz)s)::date AS tenure,
           %(as_of)s::date - (a.last_at AT TIME ZONE %(tz)s)::date AS recency
    FROM agg a JOIN crm_customer c ON c.id = a.customer_id
    WHERE c.merged_into_id IS NULL
), ranked AS (
    SELECT b.*,
           CASE WHEN b.frequency > 0 THEN 1 + (5 * (rank() OVER (
               PARTITION BY b.business_unit_id, b.frequency > 0 ORDER BY b.recency DESC) - 1))
               / count(*) OVER (PARTITION BY b.business_unit_id, b.frequency > 0) END AS r_score,
           CASE WHEN b.frequency > 0 THEN 1 + (5 * (rank() OVER (
               PARTITION BY b.business_unit_id, b.frequency > 0 ORDER BY b.frequency) - 1))
               / count(*) OVER (PARTITION BY b.business_unit_id, b.frequency > 0) END AS f_score,
           CASE WHEN b.frequency > 0 THEN 1 + (5 * (rank() OVER (
               PARTITION BY b.business_unit_id, b.frequency > 0 ORDER BY b.monetary) - 1))
               / count(*) OVER (PARTITION BY b.business_unit_id, b.frequency > 0) END AS m_score
    FROM base b
), limits AS (
    SELECT u.id AS business_unit_id,
           coalesce(th.new_days, %(new_days)s) AS new_days,
           coalesce(th.active_days, %(active_days)s) AS active_days,
           coalesce(th.at_risk_days, %(at_risk_days)s) AS at_risk_days,
           coalesce(th.dormant_days, %(dormant_days)s) AS dormant_days
    FROM crm_businessunit u
    LEFT JOIN crm_unitstagethresholds th ON th.business_unit_id = u.id
)
INSERT INTO crm_customerunitmetrics (
    customer_id, business_unit_id, as_of, recency_days, frequency, monetary,
    r_score, f_score, m_score, rfm_segment, lifecycle_stage,
    first_purchase_at, last_purchase_at, computed_at
)
SELECT r.customer_id, r.business_unit_id, %(as_of)s, r.recency, r.frequency, r.monetary,
       r.r_score, r.f_score, r.m_score,
       coalesce(g.segment, %(no_purchase)s),
       CASE WHEN r.frequency = 0 THEN %(prospect)s
            WHEN r.tenure <= l.new_days THEN %(new)s
            WHEN r.recency <= l.active_days THEN %(active)s
            WHEN r.recency <= l.at_risk_days THEN %(at_risk)s
            WHEN r.recency <= l.dormant_days THEN %(dormant)s
            ELSE %(lost)s END,
       r.first_at, r.last_at, %(now)s
FROM ranked r
JOIN limits l ON l.business_unit_id = r.business_unit_id
LEFT JOIN (VALUES {segments}) AS g(r, f, segment) ON g.r = r.r_score AND g.f = r.f_score
ON CONFLICT (customer_id, business_unit_id) DO UPDATE SET
    as_of = EXCLUDED.as_of,
    recency_days = EXCLUDED.recency_days,
    frequency = EXCLUDED.frequency,
    monetary = EXCLUDED.monetary,
    r_score = EXCLUDED.r_score,
    f_score = EXCLUDED.f_score,
    m_score = EXCLUDED.m_score,
    rfm_segment = EXCLUDED.rfm_segment,
    lifecycle_stage = EXCLUDED.lifecycle_stage,
    first_purchase_at = EXCLUDED.first_purchase_at,
    last_purchase_at = EXCLUDED.last_purchase_at,
    computed_at = EXCLUDED.computed_at
"""


def write_unit_metrics(cursor: Any, params: dict[str, Any], segments: str) -> int:
    """Write every (customer, unit) row as of ``params['as_of']`` and drop the pairs not
    written (customers merged away, transactions moved); inside the caller's transaction."""
    cursor.execute(UNIT_METRICS_SQL.format(segments=segments), params)
    written = int(cursor.rowcount)
    cursor.execute("DELETE FROM crm_customerunitmetrics WHERE computed_at <> %(now)s", params)
    return written
