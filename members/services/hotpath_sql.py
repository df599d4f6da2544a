"""The statements of ``members.services.hotpath`` (earn and redeem): the member's lock with
the lock-independent reads, and one data-modifying statement each for earn and redeem. See
that module for why they are SQL."""

from __future__ import annotations

import re
from functools import cache

from crm.models.blacklist import BINDING_STATUSES
from members.models import Member

BINDING = ", ".join(f"'{status.value}'" for status in BINDING_STATUSES)  # constants of the model
MEMBER_COLUMNS = [f.column for f in Member._meta.concrete_fields]
MEMBER_ATTNAMES = [f.attname for f in Member._meta.concrete_fields]

LOCK_SQL = f"""
SELECT {", ".join(f"m.{c}" for c in MEMBER_COLUMNS)},
       EXISTS (SELECT 1 FROM crm_blacklistentry b
               WHERE b.customer_id = m.customer_id AND b.status IN ({BINDING})) AS blacklisted,
       (SELECT c.birthday FROM crm_customer c WHERE c.id = m.customer_id) AS birthday,
       (SELECT json_build_object(
                   'id', r.id, 'points_per_unit', r.points_per_unit::text, 'rounding', r.rounding,
                   'cap_per_transaction', r.cap_per_transaction, 'cap_per_day', r.cap_per_day,
                   'validity_months', r.validity_months,
                   'birthday_multiplier', r.birthday_multiplier::text,
                   'first_purchase_bonus', r.first_purchase_bonus)::text
        FROM members_earningrule r
        WHERE %(rule)s AND r.business_unit_id = %(unit)s AND r.is_active) AS rule,
       (SELECT json_agg(json_build_object(
                   'id', l.id, 'code', l.code, 'name', l.name, 'rank', l.rank, 'basis', l.basis,
                   'threshold', l.threshold::text, 'window_months', l.window_months,
                   'multiplier', l.multiplier::text, 'benefits', l.benefits) ORDER BY l.rank)::text
        FROM members_level l WHERE %(rule)s) AS ladder
FROM members_member m
WHERE m.id = %(member)s
FOR UPDATE OF m
"""  # noqa: S608 (column names from the model; values are bound)

ENTRY_COLUMNS = (
    "member_id, customer_id, business_unit_id, kind, points, unrecovered, spend, reason, "
    "reference, order_reference, actor_id, created_at"
)

# The bonus entry is written only with the purchase's own entry (ins_bonus reads ins_main):
# when a concurrent earn of another member took the same order reference first, the purchase
# row is skipped (ON CONFLICT) and so is the bonus. When the purchase earns nothing (the day's
# cap taken), the bonus entry alone carries the order's spend, so spend-based levels see the
# order. No SQL comments: the text is collapsed to one line.
EARN_SQL = f"""
WITH today AS (
    SELECT coalesce(sum(points), 0) AS points FROM members_pointsentry
    WHERE %(cap)s::int IS NOT NULL AND member_id = %(member)s AND business_unit_id = %(unit)s
      AND kind = 'earn' AND created_at >= %(day)s AND reference = order_reference
), calc AS (
    SELECT CASE WHEN %(cap)s::int IS NULL THEN %(base)s::int
                ELSE greatest(0, least(%(base)s::int, %(cap)s::int - (SELECT points FROM today)))
           END AS main,
           CASE WHEN %(bonus)s::int > 0 AND NOT EXISTS (
                    SELECT 1 FROM members_pointsentry
                    WHERE member_id = %(member)s AND business_unit_id = %(unit)s
                      AND kind = 'earn' AND order_reference <> '')
                THEN %(bonus)s::int ELSE 0 END AS bonus,
           NOT EXISTS (SELECT 1 FROM members_pointsentry
                       WHERE business_unit_id = %(unit)s AND kind = 'earn'
                         AND reference IN (%(reference)s, %(bonus_reference)s)
                         AND reference <> '') AS fresh
), ins_main AS (
    INSERT INTO members_pointsentry ({ENTRY_COLUMNS})
    SELECT %(member)s, %(customer)s, %(unit)s, 'earn', calc.main, 0, %(spend)s::numeric,
           'purchase', %(reference)s::varchar, %(reference)s, %(actor)s, %(now)s
    FROM calc WHERE calc.fresh AND calc.main > 0
    ON CONFLICT DO NOTHING
    RETURNING id, points, reason, spend
), ins_bonus AS (
    INSERT INTO members_pointsentry ({ENTRY_COLUMNS})
    SELECT %(member)s, %(customer)s, %(unit)s, 'earn', calc.bonus, 0,
           CASE WHEN calc.main = 0 THEN %(spend)s::numeric ELSE 0::numeric END,
           'first', %(bonus_reference)s::varchar, %(reference)s, %(actor)s, %(now)s
    FROM calc WHERE calc.fresh AND calc.bonus > 0
      AND (calc.main = 0 OR EXISTS (SELECT 1 FROM ins_main))
    ON CONFLICT DO NOTHING
    RETURNING id, points, reason, spend
), ins AS (
    SELECT * FROM ins_main UNION ALL SELECT * FROM ins_bonus
), lot AS (
    INSERT INTO members_pointslot (member_id, customer_id, funding_business_unit_id, entry_id,
                                   amount, remaining, earned_at, expires_at, order_reference)
    SELECT %(member)s, %(customer)s, %(unit)s, id, points, points, %(now)s, %(expires)s,
           %(reference)s
    FROM ins
), total AS (
    SELECT coalesce(sum(points), 0)::int AS points, count(*) AS n FROM ins
), bal AS (
    UPDATE members_member m SET points_balance = m.points_balance + total.points
    FROM total WHERE m.id = %(member)s AND total.n > 0
    RETURNING m.points_balance
), ev AS (
    INSERT INTO crm_timelineevent (customer_id, business_unit_id, type, actor_id, occurred_at,
                                   summary, data)
    SELECT %(customer)s, %(unit)s, %(event)s, %(actor)s, %(now)s,
           '+' || total.points || ' points',
           jsonb_build_object('points', total.points, 'reference', %(reference)s::text,
                              'amount', %(amount)s::text)
    FROM total WHERE total.n > 0
    RETURNING id
), measures AS (
    SELECT coalesce(array_agg(ARRAY[coalesce(s.points, 0), coalesce(s.spend, 0)]
                              ORDER BY w.i), '{{}}') AS pairs
    FROM (__WINDOWS__) AS w(i, start)
    CROSS JOIN LATERAL (
        SELECT sum(points) FILTER (WHERE kind IN ('earn', 'reverse'))::numeric AS points,
               sum(spend) AS spend
        FROM members_pointsentry
        WHERE member_id = %(member)s AND created_at > w.start
    ) AS s
)
SELECT calc.main + calc.bonus,
       (SELECT json_agg(json_build_object('id', id, 'points', points, 'reason', reason,
                                          'spend', spend::text) ORDER BY id) FROM ins),
       (SELECT points_balance FROM bal),
       (SELECT id FROM ev),
       measures.pairs
FROM calc, measures
"""  # noqa: S608 (a constant)

REDEEM_SQL = f"""
WITH open AS (
    SELECT id, funding_business_unit_id AS unit, remaining, earned_at, expires_at
    FROM members_pointslot
    WHERE member_id = %(member)s AND is_open
), usable AS (
    SELECT id, unit, remaining, sum(remaining) OVER (ORDER BY earned_at, id) AS upto
    FROM open WHERE expires_at > %(now)s
), due AS (
    SELECT id, unit, remaining FROM open WHERE expires_at <= %(now)s
), go AS (
    SELECT coalesce((SELECT sum(remaining) FROM usable), 0)::int AS available,
           NOT EXISTS (SELECT 1 FROM members_pointsentry
                       WHERE business_unit_id = %(unit)s AND kind = 'redeem'
                         AND reference = %(reference)s AND reference <> '') AS fresh
), red AS (
    INSERT INTO members_pointsentry ({ENTRY_COLUMNS})
    SELECT %(member)s, %(customer)s, %(unit)s, 'redeem', -%(points)s::int, 0, 0, %(reason)s,
           %(reference)s, '', %(actor)s, %(now)s
    FROM go WHERE go.fresh AND go.available >= %(points)s::int
    ON CONFLICT DO NOTHING
    RETURNING id
), take AS (
    SELECT u.id, u.unit, least(u.remaining, %(points)s::int - (u.upto - u.remaining))::int AS n
    FROM usable u
    WHERE u.upto - u.remaining < %(points)s::int AND EXISTS (SELECT 1 FROM red)
), exp AS (
    INSERT INTO members_pointsentry ({ENTRY_COLUMNS})
    SELECT %(member)s, %(customer)s, d.unit, 'expire', -d.remaining, 0, 0, 'expired',
           'lot:' || d.id, '', NULL, %(now)s
    FROM due d WHERE EXISTS (SELECT 1 FROM red)
    RETURNING id, reference, points
), upd AS (
    UPDATE members_pointslot l SET remaining = l.remaining - x.n
    FROM (SELECT id, n FROM take
          UNION ALL
          SELECT id, remaining FROM due WHERE EXISTS (SELECT 1 FROM red)) AS x
    WHERE l.id = x.id
), cons AS (
    INSERT INTO members_lotconsumption (entry_id, lot_id, points, created_at)
    SELECT red.id, take.id, take.n, %(now)s FROM red, take
    UNION ALL
    SELECT exp.id, substr(exp.reference, 5)::bigint, -exp.points, %(now)s FROM exp
), val AS (
    SELECT coalesce((SELECT value FROM members_pointvalue WHERE valid_from <= %(day)s
                     ORDER BY valid_from DESC LIMIT 1), 0) AS value
), lines AS (
    INSERT INTO crm_settlementline (statement_id, debtor_id, creditor_id, amount, currency,
                                    points, source_kind, source_reference, created_at)
    SELECT s.id, t.unit, %(unit)s, round(val.value * t.n, 2), 'CNY', t.n, 'points',
           'entry:' || red.id || ':lot:' || t.id, %(now)s
    FROM red, val, take t
    JOIN crm_settlementstatement s
      ON s.month = %(month)s AND s.debtor_id = t.unit AND s.creditor_id = %(unit)s
    WHERE t.unit <> %(unit)s
), bal AS (
    UPDATE members_member
    SET points_balance = points_balance - %(points)s::int
                         - coalesce((SELECT sum(remaining) FROM due), 0)
    WHERE id = %(member)s AND EXISTS (SELECT 1 FROM red)
    RETURNING points_balance
), ev AS (
    INSERT INTO crm_timelineevent (customer_id, business_unit_id, type, actor_id, occurred_at,
                                   summary, data)
    SELECT %(customer)s, %(unit)s, %(event)s, %(actor)s, %(now)s,
           '-' || %(points)s::int || ' points',
           jsonb_build_object('points', %(points)s::int, 'reference', %(reference)s::text)
    FROM red
    RETURNING id
)
SELECT go.available, go.fresh, (SELECT id FROM red), (SELECT points_balance FROM bal),
       (SELECT id FROM ev),
       (SELECT json_agg(json_build_object('lot', t.id, 'unit', t.unit, 'points', t.n))
        FROM take t
        WHERE t.unit <> %(unit)s AND EXISTS (SELECT 1 FROM red)
          AND NOT EXISTS (SELECT 1 FROM crm_settlementstatement s
                          WHERE s.month = %(month)s AND s.debtor_id = t.unit
                            AND s.creditor_id = %(unit)s)) AS unsettled
FROM go
"""  # noqa: S608 (a constant)

# The level windows as a VALUES list of scalar parameters, one statement text per number of
# windows (the ladder has a few): PostgreSQL then plans the earn once per connection (a generic
# plan). With an array parameter it assumed 10 windows, found the generic plan dearer than a
# custom one and planned the statement again on every earn (~0.8 ms of the server's CPU).


@cache
def earn_sql(windows: int) -> str:
    """``EARN_SQL`` for ``windows`` window starts, bound as ``start0`` … ``start<n-1>``."""
    rows = ", ".join(f"({i}, %(start{i})s::timestamptz)" for i in range(windows))
    return EARN_SQL.replace(
        "__WINDOWS__", f"VALUES {rows}" if rows else "SELECT 0, NULL::timestamptz WHERE false"
    )


# One line each: psycopg caches the parsing of a statement's placeholders only up to 4,096
# bytes (``MAX_CACHED_STATEMENT_LENGTH``), and the redeem's indentation is close to that.
LOCK_SQL, EARN_SQL, REDEEM_SQL = (
    re.sub(r"\s+", " ", sql).strip() for sql in (LOCK_SQL, EARN_SQL, REDEEM_SQL)
)
