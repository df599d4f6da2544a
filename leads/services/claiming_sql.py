"""The two statements of ``claim_next`` (``leads.services.claim_next``).

The first locks the rep's holding row (``FOR UPDATE``: a concurrent claim of the same rep
waits here) and reads the day's claims so far and the pool's limits for the rep's roles. The
second runs in a snapshot taken after that lock, so it sees every claim of the same rep that
committed before: it counts the leads the rep holds, picks the pool's oldest unclaimed lead
with ``SKIP LOCKED`` (nothing when a limit is reached), writes the claim, its history row and
the day's claim count, and answers the held count and the claimed lead's columns. A refusal
writes nothing, so it commits an empty transaction instead of rolling back: a rollback makes
psycopg drop every statement prepared on the connection (``crm.prepared``), and a drained
pool answering ``pool_empty`` all day would plan these statements again on every call.
"""

from __future__ import annotations

from leads.models import HELD_STATUSES, Lead, LeadEventKind, LeadStatus

# The claimed lead's columns but the generated ones (its name's grams: only searches read them).
_FIELDS = [f for f in Lead._meta.concrete_fields if not f.generated]
LEAD_COLUMNS = [f.column for f in _FIELDS]
LEAD_ATTNAMES = [f.attname for f in _FIELDS]
HELD = list(HELD_STATUSES)

LOCK_SQL = """
SELECT CASE WHEN h.claims_on = %(today)s THEN h.claims_today ELSE 0 END,
    (SELECT max(r.hold_limit) FROM leads_holdlimit r
     WHERE r.pool_id = %(pool)s AND r.role = ANY(%(roles)s::text[])),
    (SELECT max(r.daily_claim_quota) FROM leads_holdlimit r
     WHERE r.pool_id = %(pool)s AND r.role = ANY(%(roles)s::text[]))
FROM leads_repholding h
WHERE h.user_id = %(user)s AND h.business_unit_id = %(unit)s
FOR UPDATE OF h
"""

PICK_SQL = f"""
WITH held AS (
    SELECT count(*) AS n FROM leads_lead
    WHERE owner_id = %(user)s AND business_unit_id = %(unit)s AND status = ANY(%(held)s::text[])
), pick AS (
    SELECT l.id FROM leads_lead l
    WHERE %(quota_ok)s AND (SELECT n FROM held) < %(hold_limit)s
      AND l.pool_id = %(pool)s AND l.owner_id IS NULL AND l.status = '{LeadStatus.NEW}'
      AND NOT l.quarantined
      AND NOT EXISTS (
          SELECT 1 FROM leads_leadevent e
          WHERE e.lead_id = l.id AND e.kind = '{LeadEventKind.RECYCLED}'
            AND e.from_owner_id = %(user)s AND e.at > %(cooldown_from)s)
    ORDER BY l.created_at
    LIMIT 1
    FOR UPDATE OF l SKIP LOCKED
), claimed AS (
    UPDATE leads_lead l
    SET owner_id = %(user)s, claimed_at = %(now)s, recycle_warned_at = NULL,
        status = '{LeadStatus.ASSIGNED}', updated_at = %(updated)s
    FROM pick WHERE l.id = pick.id
    RETURNING {", ".join(f"l.{c}" for c in LEAD_COLUMNS)}
), event AS (
    INSERT INTO leads_leadevent (lead_id, kind, at, actor_id, to_owner_id, to_pool_id,
                                 from_status, to_status, reason, note, data)
    SELECT id, '{LeadEventKind.CLAIMED}', %(now)s, %(user)s, %(user)s, pool_id,
           '{LeadStatus.NEW}', '{LeadStatus.ASSIGNED}', '', '', '{{}}'::jsonb
    FROM claimed
), counted AS (
    UPDATE leads_repholding
    SET claims_today = CASE WHEN claims_on = %(today)s THEN claims_today + 1 ELSE 1 END,
        claims_on = %(today)s
    WHERE user_id = %(user)s AND business_unit_id = %(unit)s AND EXISTS (SELECT 1 FROM claimed)
)
SELECT (SELECT n FROM held), claimed.* FROM (SELECT 1) AS one LEFT JOIN claimed ON true
"""  # noqa: S608 (column names and statuses from the models; values are bound)
