"""The lead pools' data set (issue 19), set-based: ``INSERT ... SELECT ... generate_series``,
chunk by chunk, resumable, secondary indexes and foreign keys dropped before the load and
built after it (as ``generate.py`` does for the master).

- Four units (the master's), each with its public pool (公海) and ``TEAMS`` team pools; the
  reps (``REPS``, spread evenly over the units) are members of one team pool of their unit, a
  manager per unit manages its team pools; every rep has a ``RepHolding`` row in the unit.
- Leads: ids 1..L, lead ``n`` of unit ``n % 4``, status by ``r`` (0–99, a multiplicative hash
  of ``n``; the rep and team pool of a lead are other hashes of it):

  ========  ===================================================================
  r 0–37    new, unclaimed, in the unit's public pool (pooled over a year)
  r 38–47   new, unclaimed, in a team pool (pooled within 8 days: an eighth are past
            the team pool's 7 unclaimed days and move to the public pool)
  r 48–49   new, quarantined (blacklisted customer) in the public pool
  r 50–52   held by a rep of the unit (assigned / contacted / qualified), in the rep's team
            pool or the public pool; claimed within 33 days (a tenth past the 30 days to
            convert), followed up within 3.3 days (a tenth past the 3 days to follow up)
  r 53–74   converted by a rep (linked to one of the customers below)
  r 75–99   lost by a rep, with a reason
  ========  ===================================================================

- Customers: ids 1..C (C = L / 20), the converted leads' customers (person names as the
  master's).
- History: one ``created`` event per lead, a ``recycled`` event from a rep of the unit for
  every 20th public-pool lead (within 14 days: the re-claim cooldown has rows to check);
  one follow-up per contacted or qualified lead.

Every value is a function of the id (no ``random()``): the same data set on every run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg

from tests.bench.generate import GIVEN, PREFIXES, REGIONS, SURNAMES, StepClock, _chunks, _one

SOURCE = "bench_leads"
REFERENCE_DAY = "2026-12-01 10:00:00+08"  # the data set's "now": recycling runs at it
TEAMS = 4  # team pools per unit
HOLD_LIMIT = 300  # the bench pools' hold limit (every pool of a unit counted)
DAILY_QUOTA = 300  # and daily claim quota: room for the claim figures' thousands of claims
LEAD_TABLES = (
    "crm_customer",
    "leads_lead",
    "leads_leadevent",
    "leads_followup",
)
INDUSTRIES = ["汽车", "地产", "零售", "物流", "制造", "金融", "教育", "医疗"]
CHANNELS = ["汽车之家", "懂车帝", "百度", "抖音", "微信", "展会", "官网", "合作伙伴"]
SOURCES = ["web_form", "trade_show", "partner_api", "import", "referral", "ad", "call_in"]
LOST_REASONS = ["no_need", "budget", "competitor", "unreachable", "invalid", "duplicate", "other"]
COMPANY_TRADES = ["贸易", "科技", "物流", "建设", "餐饮", "汽车服务", "电子", "实业"]


@dataclass(frozen=True)
class Setup:
    units: list[int]
    public_pools: list[int]  # per unit
    team_pools: list[list[int]]  # per unit
    reps: list[list[int]]  # per unit
    managers: list[int]  # per unit

    @property
    def all_reps(self) -> list[int]:
        return [rep for per in self.reps for rep in per]


def ensure_setup(units: list[int], reps: int) -> Setup:
    """Pools, reps, managers, memberships and holdings (the ORM: a few hundred rows)."""
    from django.contrib.auth.models import Group

    from crm.models import User
    from crm.roles import SALES_MANAGER, SALES_REP
    from leads.models import LeadPool, LeadPoolMember, PoolKind, RepHolding

    per_unit = max(1, reps // len(units))

    def user(username: str, role: str, unit: int, first: str) -> int:
        obj, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": "线索"}
        )
        if created:
            obj.set_unusable_password()
            obj.save()
            obj.groups.add(Group.objects.get(name=role))
            obj.business_units.add(unit)
        return int(obj.pk)

    def pool(unit: int, name: str, kind: str) -> int:
        obj, _created = LeadPool.objects.get_or_create(
            business_unit_id=unit,
            name=name,
            defaults={"kind": kind, "hold_limit": HOLD_LIMIT, "daily_claim_quota": DAILY_QUOTA},
        )
        return int(obj.pk)

    public, teams, rep_ids, managers = [], [], [], []
    for u, unit in enumerate(units):
        public.append(pool(unit, "公海", PoolKind.PUBLIC))
        teams.append([pool(unit, f"{t + 1}组", PoolKind.TEAM) for t in range(TEAMS)])
        manager = user(f"bench_lead_mgr_{u + 1}", SALES_MANAGER, unit, f"经理{u + 1}")
        managers.append(manager)
        mine = [
            user(f"bench_lead_rep_{u + 1}_{k + 1}", SALES_REP, unit, f"销售{u + 1}-{k + 1}")
            for k in range(per_unit)
        ]
        rep_ids.append(mine)
        LeadPoolMember.objects.bulk_create(
            [
                LeadPoolMember(pool_id=teams[u][k % TEAMS], user_id=rep, role="rep")
                for k, rep in enumerate(mine)
            ]
            + [LeadPoolMember(pool_id=team, user_id=manager, role="manager") for team in teams[u]],
            ignore_conflicts=True,
        )
        RepHolding.objects.bulk_create(
            [RepHolding(user_id=rep, business_unit_id=unit) for rep in [*mine, manager]],
            ignore_conflicts=True,
        )
    return Setup(
        units=units, public_pools=public, team_pools=teams, reps=rep_ids, managers=managers
    )


_CUSTOMERS_SQL = """
INSERT INTO crm_customer (id, kind, display_name, gender, region, registered_name, source,
                          created_at, updated_at)
SELECT n, 'person',
       substr(%(surnames)s, 1 + floor(power(((n * 7919) %% 10007) / 10007.0, 2) * 100)::int, 1)
       || substr(%(given)s, 1 + floor(power(((n * 104729) %% 10009) / 10009.0, 1.5) * 200)::int, 1),
       CASE WHEN n %% 2 = 0 THEN 'female' ELSE 'male' END,
       (%(regions)s::text[])[1 + n %% 31], '', %(source)s,
       %(reference)s::timestamptz - interval '1 minute' * ((n * 48271) %% 525600),
       %(reference)s::timestamptz
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
"""

# One row per lead, every column a function of n; ``r`` the status bucket, ``u`` the unit,
# ``k`` the rep of the unit (held and closed leads), ``t`` the team pool.
_LEADS_SQL = """
INSERT INTO leads_lead (
    id, kind, name, company, title, phone, email, wechat, region, industry, source, channel,
    campaign_code, business_unit_id, pool_id, owner_id, status, lost_reason, lost_note, score,
    note, claimed_at, first_contacted_at, last_follow_up_at, next_follow_up_at,
    recycle_warned_at, pooled_at, customer_id, existing_customer, quarantined,
    quarantine_reason, external_ref, converted_at, closed_at, created_at, updated_at)
SELECT n,
       CASE WHEN n %% 7 = 0 THEN 'company' ELSE 'person' END,
       substr(%(surnames)s, 1 + floor(power(((n * 7919) %% 10007) / 10007.0, 2) * 100)::int, 1)
       || substr(%(given)s, 1 + floor(power(((n * 104729) %% 10009) / 10009.0, 1.5) * 200)::int, 1)
       || CASE WHEN (n * 31) %% 10 < 6
               THEN substr(%(given)s,
                           1 + floor(power(((n * 15485863) %% 10037) / 10037.0, 1.2) * 200)::int, 1)
               ELSE '' END,
       CASE WHEN n %% 7 = 0
            THEN (%(regions)s::text[])[1 + n %% 31]
                 || substr(%(given)s, 1 + ((n * 13) %% 200)::int, 1)
                 || substr(%(given)s, 1 + ((n * 17) %% 200)::int, 1)
                 || (%(trades)s::text[])[1 + n %% 8] || '有限公司'
            ELSE '' END,
       '',
       '+86' || (%(prefixes)s::text[])[1 + n %% 20]
       || lpad(((n * 48271) %% 100000000)::text, 8, '0'),
       CASE WHEN n %% 5 < 2 THEN 'lead' || n || '@example.cn' ELSE '' END,
       '',
       (%(regions)s::text[])[1 + floor(power(((n * 7) %% 1009) / 1009.0, 2) * 31)::int],
       (%(industries)s::text[])[1 + (n * 11) %% 8],
       (%(sources)s::text[])[1 + (n * 3) %% 7],
       (%(channels)s::text[])[1 + (n * 5) %% 8],
       'C' || (2025 + n %% 2) || '-' || lpad((1 + (n * 19) %% 40)::text, 2, '0'),
       (%(units)s::bigint[])[1 + u],
       CASE WHEN r < 38 OR r BETWEEN 48 AND 49 THEN (%(public)s::bigint[])[1 + u]
            WHEN r < 48 THEN (%(teams)s::bigint[])[1 + u * %(nteams)s + t]
            WHEN r < 53 AND n %% 2 = 0 THEN (%(public)s::bigint[])[1 + u]
            WHEN r < 53 THEN (%(teams)s::bigint[])[1 + u * %(nteams)s + k %% %(nteams)s]
            ELSE (%(public)s::bigint[])[1 + u] END,
       CASE WHEN r >= 50 THEN (%(reps)s::bigint[])[1 + u * %(per_unit)s + k] END,
       status,
       CASE WHEN status = 'lost' THEN (%(lost)s::text[])[1 + n %% 7] ELSE '' END,
       '',
       (n * 13) %% 101,
       '',
       CASE WHEN r >= 50 THEN claimed END,
       CASE WHEN status IN ('contacted', 'qualified', 'converted', 'lost')
            THEN claimed + interval '1 hour' END,
       CASE WHEN status = 'assigned' THEN NULL
            WHEN r BETWEEN 50 AND 52
            THEN greatest(claimed + interval '1 hour',
                          ref - interval '1 minute' * ((n * 104729) %% 4752))
            WHEN r >= 53 THEN claimed + interval '2 days' END,
       CASE WHEN r BETWEEN 50 AND 52
            THEN ref + interval '1 minute' * ((n * 31) %% 7200) - interval '2 days' END,
       NULL,
       CASE WHEN r >= 50 THEN claimed ELSE created END,
       CASE WHEN status = 'converted' THEN 1 + n %% %(customers)s END,
       status = 'converted' AND n %% 3 = 0,
       r BETWEEN 48 AND 49,
       CASE WHEN r BETWEEN 48 AND 49 THEN '黑名单客户：基准数据' ELSE '' END,
       CASE WHEN (n * 3) %% 7 = 2 THEN 'V-' || n ELSE '' END,
       CASE WHEN status = 'converted' THEN claimed + interval '5 days' END,
       CASE WHEN status IN ('converted', 'lost') THEN claimed + interval '5 days' END,
       created,
       ref
FROM (
    SELECT n, r, u, k, t, ref,
           CASE WHEN r < 50 THEN 'new'
                WHEN r < 53 THEN (ARRAY['assigned', 'contacted', 'qualified'])[1 + n %% 3]
                WHEN r < 75 THEN 'converted'
                ELSE 'lost' END AS status,
           created,
           CASE WHEN r < 50 THEN NULL
                WHEN r < 53 AND n %% 3 = 0  -- assigned: claimed within 3.5 days
                THEN ref - interval '1 minute' * ((n * 48271) %% 5040)
                WHEN r < 53 THEN ref - interval '1 minute' * ((n * 48271) %% 47520)
                ELSE greatest(created, least(created + interval '1 day', ref - interval '6 days'))
           END AS claimed
    FROM (
        SELECT n, r, u, k, t, ref,
               CASE WHEN r BETWEEN 38 AND 47  -- team pools: within 8 days
                    THEN ref - interval '1 minute' * ((n * 48271) %% 11520)
                    WHEN r BETWEEN 50 AND 52  -- held: claimed after creation
                    THEN ref - interval '40 days' - interval '1 minute' * ((n * 48271) %% 525600)
                    ELSE ref - interval '1 minute' * ((n * 48271) %% 1051200) END AS created
        FROM (
            -- Multiplicative hashes (the high bits of n * a mod 2^32): the status bucket, the
            -- rep and the team pool are independent of each other and of the unit (n mod 4).
            SELECT n, ((n * 2654435761) %% 4294967296) * 100 / 4294967296 AS r,
                   n %% 4 AS u,
                   ((n * 2246822519) %% 4294967296) * %(per_unit)s / 4294967296 AS k,
                   ((n * 3266489917) %% 4294967296) * %(nteams)s / 4294967296 AS t,
                   %(reference)s::timestamptz AS ref
            FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
        ) AS hashed
    ) AS base
) AS lead
"""

_EVENTS_SQL = """
INSERT INTO leads_leadevent (lead_id, kind, at, from_status, to_status, to_pool_id, reason,
                             note, data, from_owner_id)
SELECT l.id, 'created', l.created_at, '', 'new', l.pool_id, '', '', '{}'::jsonb, NULL
FROM leads_lead l WHERE l.id BETWEEN %(lo)s AND %(hi)s
UNION ALL
SELECT l.id, 'recycled', %(reference)s::timestamptz - interval '1 minute' * ((l.id * 31) %% 20160),
       'contacted', 'new', l.pool_id, 'no_follow_up', '', '{}'::jsonb,
       (%(reps)s::bigint[])[1 + (l.id %% 4) * %(per_unit)s + (l.id * 7) %% %(per_unit)s]
FROM leads_lead l
WHERE l.id BETWEEN %(lo)s AND %(hi)s AND l.id %% 20 = 0 AND l.owner_id IS NULL
  AND l.status = 'new' AND NOT l.quarantined AND l.pool_id = ANY(%(public)s::bigint[])
"""

_FOLLOW_UPS_SQL = """
INSERT INTO leads_followup (lead_id, author_id, kind, outcome, note, next_step, next_action_at,
                            occurred_at, created_at)
SELECT l.id, l.owner_id, (ARRAY['call', 'visit', 'message', 'meeting', 'email'])[1 + l.id %% 5],
       'reached', '电话沟通，客户有意向', '', l.next_follow_up_at, l.last_follow_up_at,
       l.last_follow_up_at
FROM leads_lead l
WHERE l.id BETWEEN %(lo)s AND %(hi)s AND l.status IN ('contacted', 'qualified')
"""

_SECONDARY_SQL = """
SELECT c.relname, t.relname, 'index', pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname = ANY(%(tables)s) AND t.relnamespace = 'public'::regnamespace
  AND NOT i.indisunique AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
UNION ALL
SELECT k.conname, t.relname, 'foreign key',
       format('ALTER TABLE %%I ADD CONSTRAINT %%I %%s', t.relname, k.conname,
              pg_get_constraintdef(k.oid))
FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
WHERE k.contype = 'f' AND t.relname = ANY(%(tables)s)
  AND t.relnamespace = 'public'::regnamespace
ORDER BY 3 DESC, 2, 1
"""


def _params(setup: Setup, leads: int, customers: int) -> dict[str, Any]:
    per_unit = len(setup.reps[0])
    return {
        "source": SOURCE,
        "surnames": SURNAMES,
        "given": GIVEN,
        "prefixes": PREFIXES,
        "regions": REGIONS,
        "trades": COMPANY_TRADES,
        "industries": INDUSTRIES,
        "sources": SOURCES,
        "channels": CHANNELS,
        "lost": LOST_REASONS,
        "reference": REFERENCE_DAY,
        "units": setup.units,
        "public": setup.public_pools,
        "teams": [pool for per in setup.team_pools for pool in per],
        "nteams": TEAMS,
        "reps": setup.all_reps,
        "per_unit": per_unit,
        "customers": customers,
        "leads": leads,
    }


def customers_for(leads: int) -> int:
    return max(10, leads // 20)


def _stage(
    conn: psycopg.Connection,
    label: str,
    table: str,
    column: str,
    total: int,
    chunk: int,
    sql: str,
    params: dict[str, Any],
    kind: str | None = None,
) -> bool:
    """Fill ``table`` for ids 1..total chunk by chunk, skipping the chunks already there
    (``kind``: the chunk is there when a row of that kind is)."""
    done_any = False
    started = time.perf_counter()
    extra = " AND kind = %s" if kind else ""
    for lo, hi in _chunks(1, total, chunk):
        if _one(
            conn,
            f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {column} BETWEEN %s AND %s{extra})",
            [lo, hi, *([kind] if kind else [])],
        ):
            continue
        with conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = off")
            conn.execute(sql, {**params, "lo": lo, "hi": hi})
        elapsed = time.perf_counter() - started
        print(f"  {label}: {hi:>12,} / {total:,}  ({elapsed:6.1f} s)", flush=True)
        done_any = True
    if not done_any:
        print(f"  {label}: already there", flush=True)
    return done_any


def incomplete(conn: psycopg.Connection, leads: int) -> bool:
    last_event = _one(
        conn, "SELECT EXISTS (SELECT 1 FROM leads_leadevent WHERE lead_id = %s)", [leads]
    )
    customers = customers_for(leads)
    return not (
        _one(conn, "SELECT EXISTS (SELECT 1 FROM crm_customer WHERE id = %s)", [customers])
        and _one(conn, "SELECT EXISTS (SELECT 1 FROM leads_lead WHERE id = %s)", [leads])
        and last_event
        # the last stage: recorded once it has gone through every chunk
        and _one(
            conn,
            "SELECT EXISTS (SELECT 1 FROM bench_generation_step WHERE step = %s)",
            ["leads: follow-ups"],
        )
    )


def _defer_secondary(conn: psycopg.Connection) -> list[str]:
    with conn.transaction():
        found = conn.execute(_SECONDARY_SQL, {"tables": list(LEAD_TABLES)}).fetchall()
        for name, table, kind, definition in found:
            conn.execute(
                "INSERT INTO bench_deferred_ddl (name, table_name, kind, definition) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO NOTHING",
                [name, table, kind, definition],
            )
            if kind == "index":
                conn.execute(f'DROP INDEX "{name}"')
            else:
                conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    return [name for name, *_ in found]


def load(
    conn: psycopg.Connection, *, leads: int, chunk: int, setup: Setup, clock: StepClock
) -> bool:
    """Load what is missing (secondary indexes and foreign keys dropped first, recorded in
    ``bench_deferred_ddl``; ``generate._restore_deferred`` builds them afterwards)."""
    if not incomplete(conn, leads):
        return False
    have = _one(conn, "SELECT count(*) FROM crm_customer WHERE source <> %s", [SOURCE])
    if have:
        raise SystemExit("the leads' bench database holds other customers: use a new one")
    deferred = clock.timed("leads: drop secondary indexes and foreign keys", _defer_secondary, conn)
    if deferred:
        print(f"  dropped until the load is done: {', '.join(deferred)}", flush=True)
    customers = customers_for(leads)
    params = _params(setup, leads, customers)
    for step, table, column, total, sql, kind in (
        ("leads: customers", "crm_customer", "id", customers, _CUSTOMERS_SQL, None),
        ("leads: leads", "leads_lead", "id", leads, _LEADS_SQL, None),
        ("leads: events", "leads_leadevent", "lead_id", leads, _EVENTS_SQL, "created"),
        ("leads: follow-ups", "leads_followup", "lead_id", leads, _FOLLOW_UPS_SQL, None),
    ):
        clock.timed(step, _stage, conn, step, table, column, total, chunk, sql, params, kind)
    for table in LEAD_TABLES:
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 1) FROM {table}))"
        )
    return True


def rows(conn: psycopg.Connection) -> dict[str, Any]:
    counts: dict[str, Any] = {
        table: _one(conn, f"SELECT count(*) FROM {table}") for table in LEAD_TABLES
    }
    counts["leads_by_status"] = dict(
        conn.execute(
            "SELECT CASE WHEN quarantined THEN 'quarantined' ELSE status END, count(*) "
            "FROM leads_lead GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    return counts
