"""The benchmark data set, generated set-based (``INSERT ... SELECT ... generate_series``).

Every stage is idempotent and resumable: each chunk is one transaction, and a stage first
looks at what is there, so an interrupted run continues and a second run only checks counts.

- customers: ids ``1..N`` (explicit, so the transaction generator can address them), 95 %
  persons named family name + one or two given characters drawn with a skew (王伟 and 李娜
  are common, as they are in life), 5 % organizations;
- identities: a unique mobile for every person, e-mail (~40 %), WeChat unionid (~50 %),
  a USCC for every organization (unique, *not* check-digit valid), external id (~30 %);
- transactions: ``customer rank = floor(N * random()^2)`` scattered over the ids by a
  stride coprime to N: the top customer gets ~1/sqrt(N) of all transactions, the median a
  handful; 2 % guests, 3 % cancellations (negative amounts), four business units;
- timeline: one ``customer.created`` event per customer, and 500 events for each of the
  showcase customers the 360-view benchmark opens.

Secondary indexes and foreign keys of the four big tables are dropped before a load and
built once after it (``_defer_secondary`` / ``_restore_deferred``): maintained row by row,
the identities' trigram GIN index alone made that stage 13x slower (680 s instead of 53 s).
Primary keys, unique constraints and checks stay: they guard the data while it is written.
What was dropped is recorded in ``bench_deferred_ddl`` in the same transaction, so an
interrupted run rebuilds it on the next one. Each step's seconds accumulate in
``bench_generation_step``, so a later run still reports what generating its data took.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from tests.bench import accounts_data
from tests.bench.config import BenchConfig

SOURCE = "bench"
# Family names, most common first (the generator favours the start of each list).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤"
)
_GIVEN = (
    "伟娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文辉玲萍红鑫波宇浩凯健俊帆帅旭宁龙林欢阳晨"
    "斌亮婷雪琳晶颖鹏飞峰宏志丹玉兰燕梅莉慧珍云春海成东鹤鸣立新民永兴福生荣德胜利祥瑞嘉怡欣悦思雨"
    "涵梓萱子轩博昊然睿泽一诺可馨雅琪诗语佳乐安泰康宸铭皓晟天佑诚清风月淑贞翠凤琴芬霖丰豪晓毅振庆"
    "彬忠学功光卫良武克彦楠菲薇璐瑶蓉倩妍露茜婧婉妮蕾靖航远达恒承启翰墨逸扬柏松竹桃杏荷莲菊珊珠瑾"
    "瑜璇琦琼金宝玮晖昌盛少梦鹃琬翔虹瑛"
)
GIVEN = "".join(dict.fromkeys(_GIVEN))[:200]
_REGION_ROWS = (
    ("广东", "江苏", "山东", "浙江", "河南", "四川", "湖北", "福建"),
    ("湖南", "上海", "安徽", "北京", "河北", "陕西", "江西", "重庆"),
    ("辽宁", "云南", "广西", "山西", "内蒙古", "贵州", "新疆", "天津"),
    ("黑龙江", "吉林", "甘肃", "海南", "宁夏", "青海", "西藏"),
)
REGIONS = [region for row in _REGION_ROWS for region in row]
CITIES = ["上海", "北京", "深圳", "广州", "杭州", "南京", "苏州", "成都", "武汉", "西安", "天津"]
TRADES = ["贸易", "科技", "物流", "建设", "餐饮", "汽车服务", "物业管理", "电子", "实业", "医药"]
# Mobile prefixes of the generated customers; 198/199 are left for "new" phones in ingestion.
PREFIXES = [str(p) for p in (*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, 186)]
DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "sina.com", "foxmail.com"]
CHANNELS = ["store", "online_mall", "tmall", "jd", "wechat_mini", "erp", "phone", "other"]
UNITS = (  # code, name, industry, source system, share of transactions, amount scale
    ("AUTO", "星辰汽车", "automotive", "auto_dms", 0.10, 40),
    ("PROP", "星辰物业", "property", "prop_erp", 0.20, 2),
    ("MART", "星辰超市", "retail", "mart_pos", 0.55, 0.3),
    ("LOGI", "星辰物流", "logistics", "logi_tms", 0.15, 5),
)
UNIT_SOURCES = [u[3] for u in UNITS]
SHOWCASE_EVENTS = 500
BIG_TABLES = ("crm_customer", "crm_identity", "crm_transaction", "crm_timelineevent")
LOADED_TABLES = BIG_TABLES + accounts_data.ACCOUNT_TABLES
START = datetime(2021, 11, 24, tzinfo=UTC)


@dataclass
class Layout:
    """Where the interesting rows of the data set are."""

    stride: int
    big_customers: list[int]
    small_customers: list[int]
    unit_ids: list[int]


def stride_for(customers: int) -> int:
    """A stride coprime to ``customers`` that scatters transaction ranks over the ids."""
    for prime in (7919, 104729, 1299709, 15485863):
        if math.gcd(prime, customers) == 1:
            return prime % customers or 1
    return 1


def layout(cfg: BenchConfig, unit_ids: list[int]) -> Layout:
    n, stride = cfg.customers, stride_for(cfg.customers)
    big = [1 + (rank * stride) % n for rank in range(min(10, n))]
    small = [1 + ((n - 1 - rank) * stride) % n for rank in range(min(10, n))]
    return Layout(stride=stride, big_customers=big, small_customers=small, unit_ids=unit_ids)


class Progress:
    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.started = label, total, time.perf_counter()

    def step(self, done: int) -> None:
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed else 0
        print(
            f"  {self.label}: {done:>12,} / {self.total:,}  ({elapsed:6.1f} s, {rate:,.0f}/s)",
            flush=True,
        )


def _chunks(lo: int, hi: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size - 1, hi)) for a in range(lo, hi + 1, size)]


def _one(conn: psycopg.Connection, sql: str, params: Any = None) -> Any:
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def ensure_units(conn: psycopg.Connection) -> list[int]:
    """The four business units (created when missing), in ``UNITS`` order."""
    ids = []
    for code, name, industry, *_ in UNITS:
        conn.execute(
            "INSERT INTO crm_businessunit (code, name, industry, is_active, created_at) "
            "VALUES (%s, %s, %s, true, now()) ON CONFLICT DO NOTHING",
            [code, name, industry],
        )
        ids.append(_one(conn, "SELECT id FROM crm_businessunit WHERE code = %s", [code]))
    return ids


_CUSTOMERS_SQL = """
INSERT INTO crm_customer (id, kind, display_name, gender, birthday, region, registered_name,
                          source, created_at, updated_at)
SELECT n, kind, name, gender, birthday, region,
       CASE WHEN kind = 'organization' THEN name ELSE '' END, %(source)s, created, created
FROM (
    SELECT n, kind,
           CASE WHEN kind = 'organization' THEN
                (%(cities)s::text[])[1 + floor(random() * %(n_cities)s)::int]
                || substr(%(given)s, 1 + floor(random() * 200)::int, 1)
                || substr(%(given)s, 1 + floor(random() * 200)::int, 1)
                || (%(trades)s::text[])[1 + floor(random() * %(n_trades)s)::int] || '有限公司'
           ELSE
                substr(%(surnames)s, 1 + floor(power(random(), 2) * 100)::int, 1)
                || substr(%(given)s, 1 + floor(power(random(), 1.5) * 200)::int, 1)
                || CASE WHEN random() < 0.6
                        THEN substr(%(given)s, 1 + floor(power(random(), 1.2) * 200)::int, 1)
                        ELSE '' END
           END AS name,
           CASE WHEN kind = 'organization' THEN ''
                WHEN r_gender < 0.48 THEN 'male' WHEN r_gender < 0.94 THEN 'female' ELSE ''
           END AS gender,
           CASE WHEN kind = 'person' AND random() < 0.7
                THEN date '1955-01-01' + floor(random() * 18000)::int END AS birthday,
           (%(regions)s::text[])[1 + floor(power(random(), 1.3) * %(n_regions)s)::int] AS region,
           %(start)s::timestamptz
             + interval '1826 days' * ((n - 1)::float8 / %(total)s)
             + interval '1 minute' * floor(random() * 600) AS created
    FROM (
        SELECT n, CASE WHEN random() < 0.05 THEN 'organization' ELSE 'person' END AS kind,
               random() AS r_gender
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
        OFFSET 0
    ) base
    OFFSET 0
) rows
"""

_IDENTITIES_SQL = """
INSERT INTO crm_identity (customer_id, type, value, verified, source, created_at)
SELECT c.id, v.type, v.value, v.verified, %(source)s, c.created_at
FROM (
    SELECT id, kind, created_at, random() AS r_email, random() AS r_wechat, random() AS r_ext
    FROM crm_customer
    WHERE id BETWEEN %(lo)s AND %(hi)s AND source = %(source)s
    OFFSET 0
) c
CROSS JOIN LATERAL (VALUES
    ('mobile', CASE WHEN c.kind = 'person' THEN
        '+86' || (%(prefixes)s::text[])[1 + c.id %% 20]
        || lpad(((c.id * 48271) %% 100000000)::text, 8, '0') END, true),
    ('email', CASE WHEN c.kind = 'person' AND c.r_email < 0.4 THEN
        'u' || c.id || '@' || (%(domains)s::text[])[1 + c.id %% 6] END, false),
    ('wechat_unionid', CASE WHEN c.kind = 'person' AND c.r_wechat < 0.5 THEN
        'oBnch' || substr(md5(c.id::text), 1, 23) END, false),
    ('uscc', CASE WHEN c.kind = 'organization' THEN
        '91' || lpad(c.id::text, 15, '0') || 'X' END, true),
    ('external', CASE WHEN c.r_ext < 0.3 THEN 'erp:C' || c.id END, false)
) AS v(type, value, verified)
WHERE v.value IS NOT NULL
"""

_TRANSACTIONS_SQL = """
INSERT INTO crm_transaction (business_unit_id, customer_id, source, external_id, channel, kind,
                             status, occurred_at, amount, currency, lines, ingested_at)
SELECT (%(units)s::bigint[])[u],
       CASE WHEN r_guest < 0.02 THEN NULL
            ELSE 1 + (floor(power(r_customer, 2) * %(customers)s)::bigint * %(stride)s)
                     %% %(customers)s
       END,
       (%(sources)s::text[])[u], n::text,
       (%(channels)s::text[])[1 + floor(power(random(), 1.5) * 8)::int],
       CASE WHEN cancelled THEN 'cancellation' ELSE 'purchase' END, 'completed', occurred,
       (CASE WHEN cancelled THEN -1 ELSE 1 END)
         * round(exp(random() * 7)::numeric * (%(scales)s::numeric[])[u], 2),
       'CNY', '[]'::jsonb, occurred + interval '2 hours'
FROM (
    SELECT n,
           CASE WHEN r_unit < %(cut1)s THEN 1 WHEN r_unit < %(cut2)s THEN 2
                WHEN r_unit < %(cut3)s THEN 3 ELSE 4 END AS u,
           random() AS r_guest, random() AS r_customer, random() < 0.03 AS cancelled,
           %(start)s::timestamptz + random() * interval '1826 days' AS occurred
    FROM (
        SELECT n, random() AS r_unit FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
        OFFSET 0
    ) base
    OFFSET 0
) rows
"""

_EVENTS_SQL = """
INSERT INTO crm_timelineevent (customer_id, business_unit_id, type, occurred_at, summary, data)
SELECT id, NULL, 'customer.created', created_at, '客户建档（基准数据）', '{}'::jsonb
FROM crm_customer WHERE id BETWEEN %(lo)s AND %(hi)s AND source = %(source)s
"""

_SHOWCASE_EVENTS_SQL = """
INSERT INTO crm_timelineevent (customer_id, business_unit_id, type, occurred_at, summary, data)
SELECT c, (%(units)s::bigint[])[1 + (k %% 5 + c) %% 4],
       (ARRAY['tag.added', 'tag.removed', 'identity.added', 'consent.granted',
              'consent.withdrawn'])[1 + k %% 5],
       now() - interval '1 hour' * k * 7, '基准事件 #' || k, jsonb_build_object('k', k)
FROM unnest(%(customers)s::bigint[]) AS c, generate_series(1, %(events)s) AS k
"""


def _set_seed(conn: psycopg.Connection, seed: int, step: int) -> None:
    """Reproducible data: the same seed, sizes and chunking give the same rows."""
    conn.execute("SELECT setseed(%s)", [((seed * 7919 + step) % 2_000_000) / 1_000_000 - 1])


def _customers(conn: psycopg.Connection, cfg: BenchConfig) -> bool:
    have = _one(conn, "SELECT count(*) FROM crm_customer WHERE source = %s", [SOURCE])
    if have > cfg.customers:
        raise SystemExit(
            f"{cfg.database} holds {have:,} bench customers, more than BENCH_CUSTOMERS="
            f"{cfg.customers:,}: choose another BENCH_DATABASE or drop this one."
        )
    if have == cfg.customers:
        print(f"  customers: {have:,} already there", flush=True)
        return False
    top = _one(conn, "SELECT coalesce(max(id), 0) FROM crm_customer WHERE source = %s", [SOURCE])
    if top != have:
        raise SystemExit(f"{cfg.database}: bench customer ids are not 1..{have}; drop it.")
    progress = Progress("customers", cfg.customers)
    params = {
        "source": SOURCE,
        "surnames": SURNAMES,
        "given": GIVEN,
        "cities": CITIES,
        "n_cities": len(CITIES),
        "trades": TRADES,
        "n_trades": len(TRADES),
        "regions": REGIONS,
        "n_regions": len(REGIONS),
        "start": START,
        "total": cfg.customers,
    }
    for lo, hi in _chunks(have + 1, cfg.customers, cfg.chunk):
        with conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = off")
            _set_seed(conn, cfg.seed, lo)
            conn.execute(_CUSTOMERS_SQL, {**params, "lo": lo, "hi": hi})
        progress.step(hi)
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('crm_customer', 'id'), "
        "(SELECT max(id) FROM crm_customer))"
    )
    return True


def _per_customer_stage(
    conn: psycopg.Connection, cfg: BenchConfig, label: str, table: str, sql: str, extra: dict
) -> bool:
    """Fill ``table`` for the customers chunk by chunk, skipping chunks already done."""
    done_any = False
    progress = Progress(label, cfg.customers)
    for lo, hi in _chunks(1, cfg.customers, cfg.chunk):
        exists = _one(
            conn,
            f"SELECT EXISTS (SELECT 1 FROM {table} WHERE customer_id BETWEEN %s AND %s)",
            [lo, hi],
        )
        if exists:
            continue
        with conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = off")
            _set_seed(conn, cfg.seed, 1_000_000 + lo)
            conn.execute(sql, {"source": SOURCE, "lo": lo, "hi": hi, **extra})
        progress.step(hi)
        done_any = True
    if not done_any:
        print(f"  {label}: already there", flush=True)
    return done_any


def _transactions(conn: psycopg.Connection, cfg: BenchConfig, units: list[int]) -> bool:
    have = _one(conn, "SELECT count(*) FROM crm_transaction WHERE source = ANY(%s)", [UNIT_SOURCES])
    if have >= cfg.transactions:
        print(f"  transactions: {have:,} already there", flush=True)
        return False
    # Chunks commit whole and in order, so rows 1..have are the ones there.
    shares = [u[4] for u in UNITS]
    cuts = [sum(shares[: i + 1]) for i in range(3)]
    params = {
        "units": units,
        "sources": UNIT_SOURCES,
        "channels": CHANNELS,
        "scales": [float(u[5]) for u in UNITS],
        "customers": cfg.customers,
        "stride": stride_for(cfg.customers),
        "cut1": cuts[0],
        "cut2": cuts[1],
        "cut3": cuts[2],
        "start": START,
    }
    progress = Progress("transactions", cfg.transactions)
    for lo, hi in _chunks(have + 1, cfg.transactions, cfg.chunk):
        with conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = off")
            _set_seed(conn, cfg.seed, 2_000_000 + lo)
            conn.execute(_TRANSACTIONS_SQL, {**params, "lo": lo, "hi": hi})
        progress.step(hi)
    return True


def _showcase(conn: psycopg.Connection, cfg: BenchConfig, lay: Layout) -> bool:
    """Long timelines, consents and tags for the customers the 360 benchmark opens."""
    have = _one(
        conn,
        "SELECT count(*) FROM crm_timelineevent WHERE customer_id = ANY(%s) "
        "AND type <> 'customer.created'",
        [lay.big_customers],
    )
    if have >= SHOWCASE_EVENTS * len(lay.big_customers):
        return False
    showcase = lay.big_customers + lay.small_customers
    with conn.transaction():
        conn.execute(
            "DELETE FROM crm_timelineevent WHERE customer_id = ANY(%s) "
            "AND type <> 'customer.created'",
            [lay.big_customers],
        )
        conn.execute(
            _SHOWCASE_EVENTS_SQL,
            {"units": lay.unit_ids, "customers": lay.big_customers, "events": SHOWCASE_EVENTS},
        )
        conn.execute(
            "INSERT INTO crm_consent (customer_id, channel, purpose, granted, occurred_at, source) "
            "SELECT c, ch, p, g, now() - interval '1 day' * d, 'bench' "
            "FROM unnest(%s::bigint[]) AS c, (VALUES ('sms', 'marketing', true, 30), "
            "('sms', 'marketing', false, 3), ('email', 'marketing', true, 20), "
            "('wechat', 'service', true, 10)) AS v(ch, p, g, d) "
            "WHERE NOT EXISTS (SELECT 1 FROM crm_consent x WHERE x.customer_id = c)",
            [showcase],
        )
        conn.execute(
            "INSERT INTO crm_tagcategory (name, color) VALUES ('基准价值', 'purple') "
            "ON CONFLICT DO NOTHING"
        )
        category = _one(conn, "SELECT id FROM crm_tagcategory WHERE name = '基准价值'")
        conn.execute(
            "INSERT INTO crm_tag (category_id, name, description) "
            "SELECT %s, t, '' FROM unnest(ARRAY['VIP', '高频', '跨业态']) AS t "
            "ON CONFLICT DO NOTHING",
            [category],
        )
        conn.execute(
            "INSERT INTO crm_customertag (customer_id, tag_id, rule, created_at) "
            "SELECT c, t.id, 'bench', now() FROM unnest(%s::bigint[]) AS c "
            "CROSS JOIN crm_tag t WHERE t.category_id = %s ON CONFLICT DO NOTHING",
            [showcase, category],
        )
    print(f"  showcase: {SHOWCASE_EVENTS} events for {len(lay.big_customers)} customers")
    return True


_BOOKKEEPING_SQL = """
CREATE TABLE IF NOT EXISTS bench_deferred_ddl (
    name text PRIMARY KEY, table_name text NOT NULL, kind text NOT NULL,
    definition text NOT NULL, position serial
);
CREATE TABLE IF NOT EXISTS bench_generation_step (
    step text PRIMARY KEY, seconds double precision NOT NULL DEFAULT 0,
    position serial, finished_at timestamptz
);
"""

# Secondary indexes (not primary keys, not unique) and foreign keys of the big tables.
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


class StepClock:
    """Seconds per generation step, added up in the bench database across resumed runs."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.this_run: dict[str, float] = {}
        # The machine is shared: the 1-minute load average when each step ended.
        self.load_average: dict[str, float] = {}

    def record(self, step: str, seconds: float) -> None:
        self.this_run[step] = round(self.this_run.get(step, 0) + seconds, 1)
        self.load_average[step] = round(os.getloadavg()[0], 1)
        self.conn.execute(
            "INSERT INTO bench_generation_step (step, seconds, finished_at) "
            "VALUES (%s, %s, now()) ON CONFLICT (step) DO UPDATE "
            "SET seconds = bench_generation_step.seconds + excluded.seconds, finished_at = now()",
            [step, seconds],
        )

    def timed(self, step: str, call: Any, *args: Any) -> Any:
        started = time.perf_counter()
        result = call(*args)
        if result:  # only steps that did work count
            self.record(step, time.perf_counter() - started)
        return result

    def totals(self) -> dict[str, float]:
        rows = self.conn.execute(
            "SELECT step, seconds FROM bench_generation_step ORDER BY position"
        ).fetchall()
        return {step: round(seconds, 1) for step, seconds in rows}


def _incomplete(conn: psycopg.Connection, cfg: BenchConfig) -> bool:
    """Whether a load stage still has rows to write (the stages themselves say which)."""
    if _one(conn, "SELECT count(*) FROM crm_customer WHERE source = %s", [SOURCE]) < cfg.customers:
        return True
    sources = UNIT_SOURCES
    if _one(conn, "SELECT count(*) FROM crm_transaction WHERE source = ANY(%s)", [sources]) < (
        cfg.transactions
    ):
        return True
    for table in ("crm_identity", "crm_timelineevent"):
        for lo, hi in _chunks(1, cfg.customers, cfg.chunk):
            if not _one(
                conn,
                f"SELECT EXISTS (SELECT 1 FROM {table} WHERE customer_id BETWEEN %s AND %s)",
                [lo, hi],
            ):
                return True
    return False


def _defer_secondary(conn: psycopg.Connection) -> list[str]:
    """Drop the loaded tables' secondary indexes and foreign keys, remembering their DDL."""
    with conn.transaction():
        found = conn.execute(_SECONDARY_SQL, {"tables": list(LOADED_TABLES)}).fetchall()
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


def _restore_deferred(conn: psycopg.Connection, clock: StepClock) -> bool:
    """Build what ``_defer_secondary`` dropped: indexes first, then foreign keys."""
    pending = conn.execute(
        "SELECT name, table_name, kind, definition FROM bench_deferred_ddl "
        "ORDER BY kind DESC, position"
    ).fetchall()
    if not pending:
        return False
    conn.execute("SET maintenance_work_mem = '512MB'")
    for name, table, kind, definition in pending:
        started = time.perf_counter()
        with conn.transaction():
            exists = (
                _one(conn, "SELECT to_regclass(%s) IS NOT NULL", [f'public."{name}"'])
                if kind == "index"
                else _one(
                    conn,
                    "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = %s "
                    "AND conrelid = %s::regclass)",
                    [name, table],
                )
            )
            if not exists:
                conn.execute(definition)
            conn.execute("DELETE FROM bench_deferred_ddl WHERE name = %s", [name])
        seconds = time.perf_counter() - started
        clock.record(f"build {kind} {name}", seconds)
        print(f"  built {kind} {name} on {table} in {seconds:.1f} s", flush=True)
    conn.execute("RESET maintenance_work_mem")
    return True


def generate(conn: psycopg.Connection, cfg: BenchConfig) -> tuple[Layout, dict[str, Any]]:
    """Make the data set complete; returns where things are and what it took."""
    started = time.perf_counter()
    conn.autocommit = True
    conn.execute(_BOOKKEEPING_SQL)
    clock = StepClock(conn)
    units = ensure_units(conn)
    lay = layout(cfg, units)
    changed = False
    if _incomplete(conn, cfg) or accounts_data.incomplete(conn, cfg):
        deferred = clock.timed("drop secondary indexes and foreign keys", _defer_secondary, conn)
        if deferred:
            print(f"  dropped until the load is done: {', '.join(deferred)}", flush=True)
        changed |= clock.timed("customers", _customers, conn, cfg)
        changed |= clock.timed(
            "identities",
            _per_customer_stage,
            conn,
            cfg,
            "identities",
            "crm_identity",
            _IDENTITIES_SQL,
            {"prefixes": PREFIXES, "domains": DOMAINS},
        )
        changed |= clock.timed("transactions", _transactions, conn, cfg, units)
        changed |= clock.timed(
            "timeline",
            _per_customer_stage,
            conn,
            cfg,
            "timeline",
            "crm_timelineevent",
            _EVENTS_SQL,
            {},
        )
        changed |= accounts_data.load(conn, cfg, units, clock)
    changed |= _restore_deferred(conn, clock)
    changed |= accounts_data.finish(conn, cfg, clock)
    changed |= clock.timed("showcase", _showcase, conn, cfg, lay)
    never_analyzed = _one(
        conn,
        "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'crm_transaction' "
        "AND last_vacuum IS NULL AND last_autovacuum IS NULL",
    )
    if changed or never_analyzed:
        print("  VACUUM (ANALYZE): visibility map and statistics ...", flush=True)
        vacuum_started = time.perf_counter()
        for table in LOADED_TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")
        conn.execute("ANALYZE")
        clock.record("vacuum analyze", time.perf_counter() - vacuum_started)
    seconds = time.perf_counter() - started
    counts = {table: _one(conn, f"SELECT count(*) FROM {table}") for table in LOADED_TABLES}
    print(f"  data set ready in {seconds:.0f} s: {counts}", flush=True)
    steps = clock.totals()
    return lay, {
        "generated": changed,
        "seconds": round(seconds, 1),
        "rows": counts,
        "steps_this_run": clock.this_run,
        "load_average_after_step": clock.load_average,
        "generation_seconds_by_step": steps,
        "generation_seconds": round(sum(steps.values()), 1),
    }
