"""The B2B accounts data set (issue 17), generated set-based like the customer master.

- ``BENCH_ACCOUNTS`` organization customers (source ``bench_acct``, ids right after the
  master's ``1..N``), each with a USCC whose check character is valid (GB 32100-2015, computed
  in SQL) and an ``Account``: industry, size, province/city, status, an owner among the reps of
  its unit, one business unit (a fifth have a second one), ~2 % a subsidiary of a group;
- ``BENCH_CONTACTS`` person customers, each with a unique mobile and a ``Contact`` at one
  account (skewed: the busiest non-showcase accounts have ~300), one or two roles, a
  department and title, ~8 % left; the first active contact of every account is its primary;
- ``BENCH_OPPORTUNITIES`` opportunities over four units, stages 25/20/15/10 % open, 15 % won,
  15 % lost with a reason, each with its stage history from qualification (~2.7 changes each);
- the showcase account (the first) has exactly ``SHOWCASE_CONTACTS`` contacts (500, the most
  of any account) and ``SHOWCASE_OPPORTUNITIES`` opportunities, and a parent;
- a sales manager of the AUTO unit (``bench_manager``) and five reps per unit.

Each stage is chunked (one transaction per chunk) and resumes where it stopped: customers,
identities and opportunities by their id ranges, accounts and contacts by their customers.
The tables' secondary indexes and foreign keys are dropped before and built after the load
by ``generate.py`` (``ACCOUNT_TABLES`` join its ``BIG_TABLES``).
"""

from __future__ import annotations

from typing import Any

import psycopg

from tests.bench.config import BenchConfig

SOURCE = "bench_acct"
ACCOUNT_TABLES = (
    "accounts_account",
    "accounts_account_business_units",
    "accounts_contact",
    "accounts_contact_roles",
    "accounts_opportunity",
    "accounts_opportunitystagechange",
)
SHOWCASE_CONTACTS = 500
SHOWCASE_OPPORTUNITIES = 40
REPS_PER_UNIT = 5
MANAGER = "bench_manager"
INDUSTRIES = list("ABCDEFGHIJKLMNOPQRST")
DEPARTMENTS = ["销售部", "采购部", "财务部", "技术部", "法务部", "总经办", "市场部", "运营部"]
TITLES = ["经理", "总监", "主管", "专员", "副总经理", "工程师", "会计", "总经理"]
PRODUCTS = ["车队租赁", "物业托管", "办公用品集采", "仓储物流", "员工福利卡", "充电桩建设"]
LOST_REASONS = ["价格过高", "选择了竞争对手", "预算取消", "需求变更"]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def showcase_contacts(cfg: BenchConfig) -> int:
    return min(SHOWCASE_CONTACTS, cfg.contacts // 2)


def org_id(cfg: BenchConfig, k: int) -> int:
    """The customer id of the k-th organization (1-based); the showcase is k = 1."""
    return cfg.customers + k


# -- SQL ----------------------------------------------------------------------------------

_CUSTOMERS_SQL = """
INSERT INTO crm_customer (id, kind, display_name, gender, region, registered_name, source,
                          created_at, updated_at)
SELECT k, kind, name,
       CASE WHEN kind = 'organization' THEN '' WHEN random() < 0.5 THEN 'male' ELSE 'female' END,
       region, CASE WHEN kind = 'organization' THEN name ELSE '' END, %(source)s, created, created
FROM (
    SELECT k, kind,
           CASE WHEN kind = 'organization' THEN
                (%(cities)s::text[])[1 + floor(random() * %(n_cities)s)::int]
                || substr(%(given)s, 1 + floor(power(random(), 1.5) * 200)::int, 1)
                || substr(%(given)s, 1 + floor(power(random(), 1.5) * 200)::int, 1)
                || (%(trades)s::text[])[1 + floor(random() * %(n_trades)s)::int] || '有限公司'
           ELSE
                substr(%(surnames)s, 1 + floor(power(random(), 2) * 100)::int, 1)
                || substr(%(given)s, 1 + floor(power(random(), 1.5) * 200)::int, 1)
                || CASE WHEN random() < 0.6
                        THEN substr(%(given)s, 1 + floor(power(random(), 1.2) * 200)::int, 1)
                        ELSE '' END
           END AS name,
           (%(regions)s::text[])[1 + floor(power(random(), 1.3) * %(n_regions)s)::int] AS region,
           %(start)s::timestamptz + random() * interval '1800 days' AS created
    FROM (
        SELECT k, CASE WHEN k <= %(base)s + %(accounts)s THEN 'organization'
                       ELSE 'person' END AS kind
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS k
        OFFSET 0
    ) base
    OFFSET 0
) rows
"""

# A valid USCC: '91' + 15 digits + the GB 32100-2015 check character (mod 31).
_IDENTITIES_SQL = """
INSERT INTO crm_identity (customer_id, type, value, verified, source, created_at)
SELECT c.id, v.type, v.value, true, %(source)s, c.created_at
FROM (
    SELECT id, kind, created_at, '91' || lpad(id::text, 15, '0') AS first17
    FROM crm_customer WHERE id BETWEEN %(lo)s AND %(hi)s AND source = %(source)s
    OFFSET 0
) c
CROSS JOIN LATERAL (VALUES
    ('uscc', CASE WHEN c.kind = 'organization' THEN c.first17 || (
        SELECT substr(%(alphabet)s, 1 + (31 - sum(
                   (strpos(%(alphabet)s, substr(c.first17, i, 1)) - 1) * (%(weights)s::int[])[i]
               )::int %% 31) %% 31, 1)
        FROM generate_series(1, 17) AS i) END),
    ('mobile', CASE WHEN c.kind = 'person' THEN
        '+86' || (%(prefixes)s::text[])[1 + c.id %% 20]
        || lpad(((c.id * 48271) %% 100000000)::text, 8, '0') END)
) AS v(type, value)
WHERE v.value IS NOT NULL
"""

# k: the organization's rank (1 = the showcase); its unit is (k - 1) %% 4, its owner a rep
# of that unit; every fifth account also deals with the next unit.
_ACCOUNTS_SQL = """
WITH ins AS (
    INSERT INTO accounts_account (customer_id, industry, size_band, province, city, address,
                                  website, owner_id, status, created_at, updated_at)
    SELECT c.id,
           (%(industries)s::text[])[1 + floor(power(random(), 1.4) * 20)::int],
           (ARRAY['', 'micro', 'small', 'medium', 'large'])[1 + floor(random() * 5)::int],
           c.region, (%(cities)s::text[])[1 + floor(random() * %(n_cities)s)::int],
           '基准路' || (c.id - %(base)s) || '号', '',
           (%(reps)s::bigint[])[1 + ((c.id - %(base)s - 1) %% 4) * %(per_unit)s
                                + ((c.id - %(base)s - 1) / 4) %% %(per_unit)s],
           CASE WHEN r < 0.15 THEN 'prospect' WHEN r < 0.80 THEN 'active'
                WHEN r < 0.95 THEN 'dormant' ELSE 'closed' END,
           c.created_at, c.created_at
    FROM (
        SELECT id, region, created_at, random() AS r FROM crm_customer
        WHERE id BETWEEN %(lo)s AND %(hi)s AND source = %(source)s AND kind = 'organization'
        OFFSET 0
    ) c
    RETURNING id, customer_id - %(base)s AS k
)
INSERT INTO accounts_account_business_units (account_id, businessunit_id)
SELECT ins.id, v.unit
FROM ins CROSS JOIN LATERAL (VALUES
    ((%(units)s::bigint[])[1 + (ins.k - 1) %% 4]),
    (CASE WHEN ins.k %% 5 = 0 THEN (%(units)s::bigint[])[1 + ins.k %% 4] END)
) AS v(unit)
WHERE v.unit IS NOT NULL
"""

# Contact i is the person customer base + accounts + i, at organization k.
_CONTACTS_SQL = """
WITH src AS (
    SELECT i, %(base)s + %(accounts)s + i AS person,
           CASE WHEN i <= %(showcase)s THEN 1
                ELSE 2 + floor((%(accounts)s - 1) * power(random(), 1.5))::bigint END AS k,
           random() AS r_dept, random() AS r_left
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
    OFFSET 0
), ins AS (
    INSERT INTO accounts_contact (account_id, person_id, title, department, is_primary, left_on,
                                  created_at)
    SELECT a.id, src.person, (%(titles)s::text[])[1 + (src.i * 7) %% 8],
           (%(departments)s::text[])[1 + floor(power(src.r_dept, 1.3) * 8)::int], false,
           CASE WHEN src.i > 1 AND src.r_left < 0.08
                THEN current_date - (1 + floor(src.r_left * 10000))::int END,
           a.created_at + interval '1 day' * (src.i %% 300)
    FROM src JOIN accounts_account a ON a.customer_id = %(base)s + src.k
    RETURNING id, person_id
)
INSERT INTO accounts_contact_roles (contact_id, contactrole_id)
SELECT ins.id, v.role
FROM ins CROSS JOIN LATERAL (VALUES
    ((%(roles)s::bigint[])[1 + ins.person_id %% 7]),
    (CASE WHEN ins.person_id %% 10 < 4 THEN (%(roles)s::bigint[])[1 + (ins.person_id + 3) %% 7]
     END)
) AS v(role)
WHERE v.role IS NOT NULL
"""

_PRIMARY_SQL = """
UPDATE accounts_contact c SET is_primary = true
FROM (
    SELECT account_id, min(id) AS id FROM accounts_contact WHERE left_on IS NULL
    GROUP BY account_id HAVING NOT bool_or(is_primary)
) p
WHERE c.id = p.id
"""

# Every 50th account (rank 7 mod 50) belongs to a group among ranks 2..500; the showcase to 2.
_HIERARCHY_SQL = """
UPDATE accounts_account a SET parent_id = p.id
FROM accounts_account p
WHERE a.parent_id IS NULL AND a.customer_id BETWEEN %(base)s + 1 AND %(base)s + %(accounts)s
  AND ((a.customer_id - %(base)s) %% 50 = 7 OR a.customer_id = %(base)s + 1)
  AND p.customer_id = %(base)s + CASE WHEN a.customer_id = %(base)s + 1 THEN 2
                                      ELSE 2 + (a.customer_id - %(base)s) %% 499 END
  AND p.id <> a.id
"""

# Opportunity n (explicit id n) at organization k, in k's unit, owned by a rep of that unit.
_OPPORTUNITIES_SQL = """
WITH src AS (
    SELECT n, k, (k - 1) %% 4 AS u, r_stage
    FROM (
        SELECT n, random() AS r_stage,
               CASE WHEN n <= %(showcase_opps)s THEN 1
                    ELSE 2 + floor((%(accounts)s - 1) * power(random(), 1.5))::bigint END AS k
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
        OFFSET 0
    ) base
), ins AS (
    INSERT INTO accounts_opportunity (id, account_id, name, owner_id, business_unit_id, amount,
                                      currency, stage_id, expected_close, lost_reason, products,
                                      notes, created_at, updated_at)
    SELECT src.n, a.id, (%(products)s::text[])[1 + src.n %% 6] || '项目 #' || src.n,
           (%(reps)s::bigint[])[1 + src.u * %(per_unit)s + src.n %% %(per_unit)s],
           (%(units)s::bigint[])[1 + src.u],
           round((exp(random() * 6) * 1000)::numeric, 2), 'CNY',
           (%(stages)s::bigint[])[s.idx],
           current_date + (floor(random() * 360) - 120)::int,
           CASE WHEN s.idx = 6 THEN (%(reasons)s::text[])[1 + src.n %% 4] ELSE '' END,
           (%(products)s::text[])[1 + src.n %% 6], '',
           now() - interval '1 day' * (30 + floor(random() * 400)), now()
    FROM src
    JOIN accounts_account a ON a.customer_id = %(base)s + src.k
    CROSS JOIN LATERAL (SELECT CASE WHEN src.r_stage < 0.25 THEN 1 WHEN src.r_stage < 0.45 THEN 2
                                    WHEN src.r_stage < 0.60 THEN 3 WHEN src.r_stage < 0.70 THEN 4
                                    WHEN src.r_stage < 0.85 THEN 5 ELSE 6 END AS idx) s
    RETURNING id, stage_id, owner_id, created_at, lost_reason
)
INSERT INTO accounts_opportunitystagechange (opportunity_id, from_stage_id, to_stage_id,
                                             changed_by_id, changed_at, lost_reason)
SELECT ins.id,
       CASE WHEN j = 1 THEN NULL ELSE (%(stages)s::bigint[])[j - 1] END,
       CASE WHEN p.idx = 6 AND j = p.reached + 1 THEN (%(stages)s::bigint[])[6]
            ELSE (%(stages)s::bigint[])[j] END,
       ins.owner_id, ins.created_at + interval '6 days' * (j - 1),
       CASE WHEN p.idx = 6 AND j = p.reached + 1 THEN ins.lost_reason ELSE '' END
FROM ins
CROSS JOIN LATERAL (SELECT array_position(%(stages)s::bigint[], ins.stage_id) AS idx,
                           1 + ins.id %% 4 AS reached) p
CROSS JOIN LATERAL generate_series(1, CASE WHEN p.idx = 6 THEN p.reached + 1 ELSE p.idx END) j
"""


# -- stages -------------------------------------------------------------------------------


def _one(conn: psycopg.Connection, sql: str, params: Any = None) -> Any:
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def _chunks(lo: int, hi: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size - 1, hi)) for a in range(lo, hi + 1, size)]


def _run_chunks(
    conn: psycopg.Connection,
    cfg: BenchConfig,
    label: str,
    total: int,
    sql: str,
    params: dict[str, Any],
    done_sql: str,
    offset: int = 0,
) -> bool:
    """Run ``sql`` for each chunk ``lo..hi`` of ``1..total`` (shifted by ``offset``) whose
    ``done_sql`` (EXISTS over the chunk) says it is not there yet; one transaction each."""
    from tests.bench.generate import Progress, _set_seed

    progress, did = Progress(label, total), False
    for lo, hi in _chunks(1, total, cfg.chunk):
        bounds = {"lo": lo + offset, "hi": hi + offset}
        if _one(conn, done_sql, bounds):
            continue
        with conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = off")
            _set_seed(conn, cfg.seed, 5_000_000 + sum(map(ord, label)) + lo)
            conn.execute(sql, {**params, **bounds})
        progress.step(hi)
        did = True
    if not did:
        print(f"  {label}: already there", flush=True)
    return did


def ensure_users(units: list[int]) -> tuple[int, list[int]]:
    """The manager (AUTO) and the reps (``REPS_PER_UNIT`` per unit, in ``UNITS`` order)."""
    from django.contrib.auth.models import Group

    from crm.models import User
    from crm.roles import SALES_MANAGER, SALES_REP

    def user(username: str, role: str, unit: int, first: str) -> int:
        obj, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": "基准"}
        )
        if created:
            obj.set_unusable_password()
            obj.save()
            obj.groups.add(Group.objects.get(name=role))
            obj.business_units.add(unit)
        return obj.pk

    manager = user(MANAGER, SALES_MANAGER, units[0], "经理")
    reps = [
        user(f"bench_rep_{u + 1}_{r + 1}", SALES_REP, unit, f"销售{u + 1}{r + 1}")
        for u, unit in enumerate(units)
        for r in range(REPS_PER_UNIT)
    ]
    return manager, reps


def _params(conn: psycopg.Connection, cfg: BenchConfig, units: list[int]) -> dict[str, Any]:
    from tests.bench import generate as g

    _manager, reps = ensure_users(units)
    return {
        "source": SOURCE,
        "base": cfg.customers,
        "accounts": cfg.accounts,
        "showcase": showcase_contacts(cfg),
        "showcase_opps": min(SHOWCASE_OPPORTUNITIES, cfg.opportunities // 4),
        "surnames": g.SURNAMES,
        "given": g.GIVEN,
        "cities": g.CITIES,
        "n_cities": len(g.CITIES),
        "trades": g.TRADES,
        "n_trades": len(g.TRADES),
        "regions": g.REGIONS,
        "n_regions": len(g.REGIONS),
        "start": g.START,
        "prefixes": g.PREFIXES,
        "alphabet": USCC_ALPHABET,
        "weights": USCC_WEIGHTS,
        "industries": INDUSTRIES,
        "reps": reps,
        "per_unit": REPS_PER_UNIT,
        "units": units,
        "titles": TITLES,
        "departments": DEPARTMENTS,
        "products": PRODUCTS,
        "reasons": LOST_REASONS,
        "roles": [r[0] for r in conn.execute("SELECT id FROM accounts_contactrole ORDER BY id")],
        "stages": [
            r[0] for r in conn.execute("SELECT id FROM accounts_opportunitystage ORDER BY position")
        ][:6],
    }


def counts(conn: psycopg.Connection) -> dict[str, int]:
    return {
        "customers": _one(conn, "SELECT count(*) FROM crm_customer WHERE source = %s", [SOURCE]),
        "identities": _one(conn, "SELECT count(*) FROM crm_identity WHERE source = %s", [SOURCE]),
        "accounts": _one(conn, "SELECT count(*) FROM accounts_account"),
        "contacts": _one(conn, "SELECT count(*) FROM accounts_contact"),
        "opportunities": _one(conn, "SELECT count(*) FROM accounts_opportunity"),
        "stage_changes": _one(conn, "SELECT count(*) FROM accounts_opportunitystagechange"),
    }


def incomplete(conn: psycopg.Connection, cfg: BenchConfig) -> bool:
    have = counts(conn)
    people = cfg.accounts + cfg.contacts
    return (
        have["customers"] < people
        or have["identities"] < people
        or have["accounts"] < cfg.accounts
        or have["contacts"] < cfg.contacts
        or have["opportunities"] < cfg.opportunities
    )


def load(conn: psycopg.Connection, cfg: BenchConfig, units: list[int], clock: Any) -> bool:
    """The load stages (called with the secondary indexes dropped)."""
    base, people = cfg.customers, cfg.accounts + cfg.contacts
    foreign = _one(
        conn,
        "SELECT count(*) FROM crm_customer WHERE id BETWEEN %s AND %s AND source <> %s",
        [base + 1, base + people, SOURCE],
    )
    if foreign:
        raise SystemExit(f"{cfg.database}: customer ids {base + 1}..{base + people} are taken.")
    p = _params(conn, cfg, units)
    in_range = "SELECT EXISTS (SELECT 1 FROM {} WHERE {} BETWEEN %(lo)s AND %(hi)s)"
    steps = [
        (
            "accounts: customers",
            people,
            _CUSTOMERS_SQL,
            in_range.format("crm_customer", "id"),
            base,
        ),
        (
            "accounts: identities",
            people,
            _IDENTITIES_SQL,
            in_range.format("crm_identity", "customer_id"),
            base,
        ),
        (
            "accounts: accounts",
            cfg.accounts,
            _ACCOUNTS_SQL,
            in_range.format("accounts_account", "customer_id"),
            base,
        ),
        (
            "accounts: contacts",
            cfg.contacts,
            _CONTACTS_SQL,
            in_range.format("accounts_contact", "person_id - %(base)s - %(accounts)s"),
            0,
        ),
        (
            "accounts: opportunities",
            cfg.opportunities,
            _OPPORTUNITIES_SQL,
            in_range.format("accounts_opportunity", "id"),
            0,
        ),
    ]
    changed = False
    for label, total, sql, done_sql, offset in steps:
        done = done_sql.replace("%(base)s", str(base)).replace("%(accounts)s", str(cfg.accounts))
        changed |= bool(
            clock.timed(label, _run_chunks, conn, cfg, label, total, sql, p, done, offset)
        )
    for seq_table in ("crm_customer", "accounts_opportunity"):
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{seq_table}', 'id'), "
            f"(SELECT max(id) FROM {seq_table}))"
        )
    return changed


def _rebuild_totals(conn: psycopg.Connection) -> bool:
    """The board's maintained ``OpportunityTotal`` rows (the services keep them; this load
    bypasses the services), rebuilt when they do not count every opportunity."""
    from accounts.services.opportunities import REBUILD_TOTALS_SQL

    counted = _one(conn, "SELECT coalesce(sum(count), 0) FROM accounts_opportunitytotal")
    if counted == _one(conn, "SELECT count(*) FROM accounts_opportunity"):
        return False
    with conn.transaction():
        conn.execute("DELETE FROM accounts_opportunitytotal")
        conn.execute(REBUILD_TOTALS_SQL)
    return True


def finish(conn: psycopg.Connection, cfg: BenchConfig, clock: Any) -> bool:
    """Primary contacts, the opportunity totals and the group hierarchy (after the indexes
    are built: an UPDATE each, no work when done)."""

    def update(sql: str, params: Any = None) -> bool:
        with conn.transaction():
            return conn.execute(sql, params).rowcount > 0

    changed = bool(clock.timed("accounts: primary contacts", update, _PRIMARY_SQL))
    changed |= bool(clock.timed("accounts: opportunity totals", _rebuild_totals, conn))
    changed |= bool(
        clock.timed(
            "accounts: hierarchy",
            update,
            _HIERARCHY_SQL,
            {"base": cfg.customers, "accounts": cfg.accounts},
        )
    )
    return changed
