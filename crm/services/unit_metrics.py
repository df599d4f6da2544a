"""The per-unit customer metrics (``crm/METRICS.md``, "Per business unit"), written by
``recompute_metrics`` in its transaction before the group-wide rows: one ``INSERT … SELECT``
grouped by customer and unit (read in the order of the ``transaction_customer_totals`` index,
so neither sorted nor hashed) into a fresh table that replaces the old one
(``crm.services.table_swap``)."""

from __future__ import annotations

from typing import Any

from crm.services.table_swap import lock_or_refuse, start_rebuild

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
           a.first_at, a.last_at, c.kind AS customer_kind,
           %(as_of)s::date - (a.first_at AT TIME ZONE %(tz)s)::date AS tenure,
           %(as_of)s::date - (a.last_at AT TIME ZONE %(tz)s)::date AS recency
    FROM agg a JOIN crm_customer c ON c.id = a.customer_id
    WHERE c.merged_into_id IS NULL
), scores AS (
    SELECT customer_id, business_unit_id,
           1 + (5 * (rank() OVER (PARTITION BY business_unit_id ORDER BY recency DESC) - 1))
               / count(*) OVER (PARTITION BY business_unit_id) AS r_score,
           1 + (5 * (rank() OVER (PARTITION BY business_unit_id ORDER BY frequency) - 1))
               / count(*) OVER (PARTITION BY business_unit_id) AS f_score,
           1 + (5 * (rank() OVER (PARTITION BY business_unit_id ORDER BY cents) - 1))
               / count(*) OVER (PARTITION BY business_unit_id) AS m_score
    FROM (
        -- Ranked in whole cents: the same order and ties (the amounts have two decimals), but
        -- a sort under the unit key compares integers, not numerics (at 1M/10M: 13.6 instead
        -- of 15.9 CPU seconds for this statement).
        SELECT customer_id, business_unit_id, recency, frequency, (monetary * 100)::bigint AS cents
        FROM base WHERE frequency > 0
    ) buyers
), ranked AS (
    SELECT b.*, s.r_score, s.f_score, s.m_score
    FROM base b
    LEFT JOIN scores s
      ON s.customer_id = b.customer_id AND s.business_unit_id = b.business_unit_id
), limits AS (
    SELECT u.id AS business_unit_id,
           coalesce(th.new_days, %(new_days)s) AS new_days,
           coalesce(th.active_days, %(active_days)s) AS active_days,
           coalesce(th.at_risk_days, %(at_risk_days)s) AS at_risk_days,
           coalesce(th.dormant_days, %(dormant_days)s) AS dormant_days
    FROM crm_businessunit u
    LEFT JOIN crm_unitstagethresholds th ON th.business_unit_id = u.id
), mobiles AS (
    SELECT i.customer_id, count(*) AS n FROM crm_identity i
    WHERE i.type = 'mobile' GROUP BY i.customer_id
)
INSERT INTO {table} (
    customer_id, business_unit_id, as_of, recency_days, frequency, monetary,
    r_score, f_score, m_score, rfm_segment, lifecycle_stage,
    first_purchase_at, last_purchase_at, computed_at,
    customer_kind, customer_mobiles, customer_monetary, customer_units
)
SELECT r.customer_id, r.business_unit_id, %(as_of)s, r.recency, r.frequency, r.monetary,
       r.r_score, r.f_score, r.m_score,
       coalesce(g.segment, %(no_purchase)s),
       CASE WHEN r.frequency = 0 THEN %(prospect)s
            WHEN r.tenure <= l.new_days THEN %(new)s
            WHEN r.recency <= l.active_days THEN %(active)s
            WHEN r.recency <= l.at_risk_days THEN %(at_risk)s
            WHEN r.recency <= l.dormant_days THEN %(dormant)s
            ELSE %(lost)s END AS stage,
       r.first_at, r.last_at, %(now)s,
       r.customer_kind, coalesce(mob.n, 0),
       -- the group's net spend is the sum over the units (every transaction has one); the
       -- recompute checks it against the group row it writes next (sync_group_monetary)
       sum(r.monetary) OVER customer,
       array_agg(r.business_unit_id) OVER customer
FROM ranked r
JOIN limits l ON l.business_unit_id = r.business_unit_id
LEFT JOIN (VALUES {segments}) AS g(r, f, segment) ON g.r = r.r_score AND g.f = r.f_score
LEFT JOIN mobiles mob ON mob.customer_id = r.customer_id
WINDOW customer AS (PARTITION BY r.customer_id ORDER BY r.business_unit_id
                    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
-- Stored in the order of unit_metrics_unit_stage: the rows of one unit's stage (where a
-- segment count starts) are then a few contiguous pages.
ORDER BY r.business_unit_id, stage, r.customer_id
"""

# The group's net spend copied from the group rows just written (normally nothing to change:
# the units' sum is the same figure; a transaction committed between the two statements would
# make them differ), and emptied where the customer has no group row (merged in between).
SYNC_GROUP_MONETARY_SQL = """
UPDATE {unit} u SET customer_monetary = g.monetary
FROM {group} g
WHERE g.customer_id = u.customer_id AND u.customer_monetary IS DISTINCT FROM g.monetary
"""
CLEAR_GROUP_MONETARY_SQL = """
UPDATE {unit} u SET customer_monetary = NULL
WHERE u.customer_monetary IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM {group} g WHERE g.customer_id = u.customer_id)
"""

# The master's copies (kind, mobile phones) brought up to date, run while the writers that
# maintain them (the triggers of migration 0025, which update the current table) are locked
# out, so that nothing they wrote since this recompute's statement read the master is lost by
# the swap. The current table's copies are exact then (kept so since its own recompute): a
# fresh row takes those of the same customer and unit; a pair new since (a customer's first
# transaction in the unit) re-reads the master. At 1M/10M: ~0.3 s (a hash join of the two
# tables), where re-reading the master for every row took 8-15 s.
SYNC_MASTER_COPIES_SQL = """
UPDATE {unit} f SET customer_kind = o.customer_kind, customer_mobiles = o.customer_mobiles
FROM {current} o
WHERE o.customer_id = f.customer_id AND o.business_unit_id = f.business_unit_id
  AND (f.customer_kind <> o.customer_kind OR f.customer_mobiles <> o.customer_mobiles)
"""
SYNC_NEW_PAIRS_SQL = """
UPDATE {unit} f SET customer_kind = c.kind, customer_mobiles = mob.n
FROM crm_customer c,
     LATERAL (SELECT count(*) AS n FROM crm_identity i
              WHERE i.customer_id = c.id AND i.type = 'mobile') mob
WHERE c.id = f.customer_id
  AND NOT EXISTS (SELECT 1 FROM {current} o
                  WHERE o.customer_id = f.customer_id AND o.business_unit_id = f.business_unit_id)
  AND (f.customer_kind <> c.kind OR f.customer_mobiles <> mob.n)
"""


TABLE = "crm_customerunitmetrics"


def write_unit_metrics(cursor: Any, params: dict[str, Any], segments: str) -> str:
    """Write every (customer, unit) row as of ``params['as_of']`` into the fresh table (pairs
    of customers merged away, or whose transactions moved, are simply not written again) and
    return its name; the caller swaps it in (``crm.services.table_swap``) in its transaction."""
    fresh = start_rebuild(cursor, TABLE)
    # Grouped in the order of the (customer, unit) index: no hash table of a million groups.
    cursor.execute("SET LOCAL enable_hashagg = off")
    cursor.execute(UNIT_METRICS_SQL.format(segments=segments, table=fresh), params)
    cursor.execute("SET LOCAL enable_hashagg = on")
    return fresh


def sync_group_monetary(cursor: Any, *, unit_table: str, group_table: str) -> None:
    """Copy the group rows' net spend into the units' rows (see the statements)."""
    cursor.execute(SYNC_GROUP_MONETARY_SQL.format(unit=unit_table, group=group_table))
    cursor.execute(CLEAR_GROUP_MONETARY_SQL.format(unit=unit_table, group=group_table))


def sync_master_copies(cursor: Any, *, unit_table: str) -> int:
    """Lock out the writers of the master's copies (``SHARE ROW EXCLUSIVE`` on the current
    table: readers go on) and re-read them into ``unit_table``; the lock is held to the
    commit, which follows the swap."""
    lock_or_refuse(cursor, f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute(SYNC_MASTER_COPIES_SQL.format(unit=unit_table, current=TABLE))
    changed = int(cursor.rowcount)
    cursor.execute(SYNC_NEW_PAIRS_SQL.format(unit=unit_table, current=TABLE))
    return changed + int(cursor.rowcount)
