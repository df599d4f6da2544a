"""The loyalty programme's data set (issue 18), set-based: ``INSERT ... SELECT ...
generate_series``, chunk by chunk, resumable, secondary indexes and foreign keys dropped
before the load and built after it (as ``generate.py`` does for the master).

- Customers: ids 1..M, every one a person (the members' people), named like the master's
  (family name + 1–2 given characters, skewed: the two-character case the name gram index
  serves), a unique mobile each (the master's formula: ``+86`` + prefix + a bijection of the
  id), a WeChat unionid for half of them.
- Members: ids 1..M, member ``m`` is customer ``m``; number ``8`` + the id on 8 digits + its
  Luhn digit (what ``members.numbers`` issues; the sequence is moved past them); enrolling unit
  ``m % 4`` of the four bench units, channel, enrolled over five years, a level (75 % basic,
  18 % silver, 6 % gold, 1 % diamond); balance = the sum of its lots.
- Lots and their ``earn`` entries: ids 1..L, lot ``n`` (and entry ``n``) belongs to member
  ``1 + (n - 1) % M`` (L/M lots each, 5 at full size), funded by unit ``n % 4``, amount
  10–499, nothing consumed (remaining = amount), earned 0–810 days before the data set's
  reference day and valid 730 days: about 10 % of the lots are due for expiry.

Every value is a function of the id (no ``random()``), so the balances are computed by the
members' insert itself and the data set is the same on every run.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg

from tests.bench.generate import (
    GIVEN,
    PREFIXES,
    SURNAMES,
    StepClock,
    _chunks,
    _one,
)

SOURCE = "bench_members"
REFERENCE_DAY = "2026-12-01 00:00:00+08"  # lots are earned up to 810 days before it
VALIDITY_DAYS = 730
SPREAD_DAYS = 810
MEMBER_TABLES = (
    "crm_customer",
    "crm_identity",
    "members_member",
    "members_pointsentry",
    "members_pointslot",
)

# Hash-like but deterministic values of an id: (id * prime) % m.
_CUSTOMERS_SQL = """
INSERT INTO crm_customer (id, kind, display_name, gender, birthday, region, registered_name,
                          source, created_at, updated_at)
SELECT n, 'person',
       substr(%(surnames)s, 1 + floor(power(((n * 7919) %% 10007) / 10007.0, 2) * 100)::int, 1)
       || substr(%(given)s, 1 + floor(power(((n * 104729) %% 10009) / 10009.0, 1.5) * 200)::int, 1)
       || CASE WHEN (n * 31) %% 10 < 6
               THEN substr(%(given)s,
                           1 + floor(power(((n * 15485863) %% 10037) / 10037.0, 1.2) * 200)::int, 1)
               ELSE '' END,
       CASE WHEN n %% 2 = 0 THEN 'female' ELSE 'male' END,
       date '1960-01-01' + ((n * 7) %% 15000)::int,
       '上海', '', %(source)s,
       %(reference)s::timestamptz - interval '1 minute' * ((n * 48271) %% 2629440),
       %(reference)s::timestamptz
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
"""

_IDENTITIES_SQL = """
INSERT INTO crm_identity (customer_id, type, value, verified, source, created_at)
SELECT n, v.type, v.value, v.verified, %(source)s, %(reference)s::timestamptz
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
CROSS JOIN LATERAL (VALUES
    ('mobile', '+86' || (%(prefixes)s::text[])[1 + n %% 20]
               || lpad(((n * 48271) %% 100000000)::text, 8, '0'), true),
    ('wechat_unionid', CASE WHEN n %% 2 = 0 THEN 'oMbch' || substr(md5(n::text), 1, 23) END,
     false)
) AS v(type, value, verified)
WHERE v.value IS NOT NULL
"""

# The Luhn digit of the 9-digit body: digits from the right, every other one (the first)
# doubled, minus 9 above 9.
_MEMBERS_SQL = """
INSERT INTO members_member (id, customer_id, number, enrolled_business_unit_id, channel,
                            enrolled_at, status, status_reason, level_id, level_since,
                            points_balance)
SELECT n, n, body || ((10 - (
           SELECT sum(CASE WHEN p %% 2 = 0
                           THEN (d * 2) - CASE WHEN d * 2 > 9 THEN 9 ELSE 0 END
                           ELSE d END)
           FROM generate_series(0, 8) AS p,
                LATERAL (SELECT substr(body, 9 - p, 1)::int AS d) AS digit
       ) %% 10) %% 10)::text,
       (%(units)s::bigint[])[1 + n %% 4],
       (%(channels)s::text[])[1 + (n * 13) %% 6],
       %(reference)s::timestamptz - interval '1 minute' * ((n * 48271) %% 2629440),
       'active', '',
       (%(levels)s::bigint[])[CASE WHEN r < 75 THEN 1 WHEN r < 93 THEN 2 WHEN r < 99 THEN 3
                                   ELSE 4 END],
       %(reference)s::timestamptz - interval '1 day' * (n %% 300),
       coalesce((SELECT sum(10 + (k * 7919) %% 490)
                 FROM generate_series(n, %(lots)s, %(members)s) AS k), 0)
FROM (
    SELECT n, '8' || lpad(n::text, 8, '0') AS body, (n * 37) %% 100 AS r
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
) AS m
"""

_ENTRIES_SQL = """
INSERT INTO members_pointsentry (id, member_id, customer_id, business_unit_id, kind, points,
                                 unrecovered, spend, reason, reference, order_reference,
                                 created_at)
SELECT n, 1 + (n - 1) %% %(members)s, 1 + (n - 1) %% %(members)s,
       (%(units)s::bigint[])[1 + n %% 4], 'earn', 10 + (n * 7919) %% 490, 0, 0, 'order', '',
       'B' || n, %(reference)s::timestamptz - interval '1 minute' * ((n * 104729) %% %(spread)s)
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
"""

_LOTS_SQL = """
INSERT INTO members_pointslot (id, member_id, customer_id, funding_business_unit_id, entry_id,
                               amount, remaining, earned_at, expires_at, order_reference)
SELECT n, 1 + (n - 1) %% %(members)s, 1 + (n - 1) %% %(members)s,
       (%(units)s::bigint[])[1 + n %% 4], n, 10 + (n * 7919) %% 490, 10 + (n * 7919) %% 490,
       at, at + interval '1 day' * %(validity)s, 'B' || n
FROM (
    SELECT n, %(reference)s::timestamptz - interval '1 minute' * ((n * 104729) %% %(spread)s) AS at
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
) AS lot
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


def _params(conn: psycopg.Connection, members: int, lots: int, units: list[int]) -> dict:
    levels = [
        _one(conn, "SELECT id FROM members_level WHERE code = %s", [code])
        for code in ("basic", "silver", "gold", "diamond")
    ]
    if None in levels:
        raise SystemExit("the programme's default levels are missing: run migrate first")
    return {
        "source": SOURCE,
        "surnames": SURNAMES,
        "given": GIVEN,
        "prefixes": PREFIXES,
        "reference": REFERENCE_DAY,
        "units": units,
        "levels": levels,
        "channels": ["store", "wechat_mini", "app", "online_mall", "tmall", "jd"],
        "members": members,
        "lots": lots,
        "spread": SPREAD_DAYS * 1440,
        "validity": VALIDITY_DAYS,
    }


def _stage(
    conn: psycopg.Connection,
    label: str,
    table: str,
    column: str,
    total: int,
    chunk: int,
    sql: str,
    params: dict,
) -> bool:
    """Fill ``table`` for ids 1..total chunk by chunk, skipping the chunks already there."""
    done_any = False
    started = time.perf_counter()
    for lo, hi in _chunks(1, total, chunk):
        if _one(
            conn,
            f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {column} BETWEEN %s AND %s)",
            [lo, hi],
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


def incomplete(conn: psycopg.Connection, members: int, lots: int) -> bool:
    for table, total in (
        ("crm_customer", members),
        ("members_member", members),
        ("members_pointsentry", lots),
        ("members_pointslot", lots),
    ):
        if _one(conn, f"SELECT EXISTS (SELECT 1 FROM {table} WHERE id = %s)", [total]) is not True:
            return True
    return False


def _defer_secondary(conn: psycopg.Connection) -> list[str]:
    with conn.transaction():
        found = conn.execute(_SECONDARY_SQL, {"tables": list(MEMBER_TABLES)}).fetchall()
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
    conn: psycopg.Connection,
    *,
    members: int,
    lots: int,
    chunk: int,
    units: list[int],
    clock: StepClock,
) -> bool:
    """Load what is missing (secondary indexes and foreign keys dropped first, recorded in
    ``bench_deferred_ddl``; ``generate._restore_deferred`` builds them afterwards)."""
    if not incomplete(conn, members, lots):
        return False
    have = _one(conn, "SELECT count(*) FROM crm_customer WHERE source <> %s", [SOURCE])
    if have:
        raise SystemExit("the members' bench database holds other customers: use a new one")
    deferred = clock.timed(
        "members: drop secondary indexes and foreign keys", _defer_secondary, conn
    )
    if deferred:
        print(f"  dropped until the load is done: {', '.join(deferred)}", flush=True)
    params = _params(conn, members, lots, units)
    for step, table, column, total, sql in (
        ("members: customers", "crm_customer", "id", members, _CUSTOMERS_SQL),
        ("members: identities", "crm_identity", "customer_id", members, _IDENTITIES_SQL),
        ("members: members", "members_member", "id", members, _MEMBERS_SQL),
        ("members: entries", "members_pointsentry", "id", lots, _ENTRIES_SQL),
        ("members: lots", "members_pointslot", "id", lots, _LOTS_SQL),
    ):
        clock.timed(step, _stage, conn, step, table, column, total, chunk, sql, params)
    for table in (
        "crm_customer",
        "crm_identity",
        "members_member",
        "members_pointsentry",
        "members_pointslot",
    ):
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 1) FROM {table}))"
        )
    conn.execute("SELECT setval('members_number_seq', %s)", [members])
    return True


def rows(conn: psycopg.Connection) -> dict[str, Any]:
    return {table: _one(conn, f"SELECT count(*) FROM {table}") for table in MEMBER_TABLES}
