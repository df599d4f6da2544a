"""The measured work: each scenario times the product and a bare-SQL run of the same work.

"The same work" means the same rows and columns a user gets: the search pages carry the
customer's first mobile and last purchase (as the list shows them), the 360 view reads the
same tables as the page. What bare SQL leaves out is exactly what the product adds: the ORM,
sessions and permissions, template rendering.
"""

from __future__ import annotations

import base64
import json
import random
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import selectors, services
from crm.models import BusinessUnit, User
from crm.roles import ADMIN
from crm.services import IdentityInput, TransactionInput
from tests.bench import accounts, file_import, http_floor, http_load, metrics, segments
from tests.bench.config import BenchConfig
from tests.bench.generate import GIVEN, SURNAMES, Layout
from tests.bench.measure import (
    Series,
    captured_sql,
    compare,
    explain,
    figure,
    rows,
    summary,
    time_bare,
    time_orm,
)

PAGE = 25
INGEST_SOURCE = "bench_ingest"
COPY_SOURCE = "bench_copy"
INSERT_SOURCE = "bench_insert"

_PAGE_SQL = """
SELECT c.id, c.kind, c.display_name, c.region, c.created_at,
       (SELECT i.value FROM crm_identity i
         WHERE i.customer_id = c.id AND i.type = 'mobile' ORDER BY i.id LIMIT 1) AS phone,
       (SELECT max(t.occurred_at) FROM crm_transaction t
         WHERE t.customer_id = c.id AND t.kind = 'purchase' AND t.amount > 0
           AND t.status <> 'refunded') AS last
FROM crm_customer c
WHERE c.merged_into_id IS NULL AND {where}
ORDER BY c.id DESC
{limit}
"""


def page_sql(where: str = "true", limit: str = f"LIMIT {PAGE + 1}") -> str:
    return _PAGE_SQL.format(where=where, limit=limit)


# A digit fragment: inside a phone's national number (never its country code), or a USCC.
PHONE_WHERE = (
    "c.id IN (SELECT customer_id FROM crm_identity WHERE type = 'mobile' "
    "AND crm_phone_national(value) LIKE %(like)s "
    "UNION ALL SELECT customer_id FROM crm_identity WHERE type = 'uscc' AND value LIKE %(like)s)"
)
GRAMS_WHERE = "c.name_grams @> ARRAY[%s]::text[]"
ILIKE_WHERE = "c.display_name ILIKE %s"


def bench_admin() -> User:
    """A member of the admin role: sees every unit, may do everything on the 360 view."""
    user, created = User.objects.get_or_create(
        username="bench_admin",
        defaults={"is_staff": True, "first_name": "管理员", "last_name": "基准"},
    )
    if created:
        user.set_unusable_password()
        user.save()
    user.groups.add(Group.objects.get(name=ADMIN))
    return User.objects.get(pk=user.pk)


def logged_in_client(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="crm.auth_backends.CrmModelBackend")
    return client


def encode_cursor(values: list[Any]) -> str:
    """The list's ``?after=`` cursor (the selector's format: URL-safe base64 of JSON)."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


class Context:
    def __init__(self, cfg: BenchConfig, lay: Layout, conn: psycopg.Connection) -> None:
        self.cfg, self.lay, self.conn = cfg, lay, conn
        self.rng = random.Random(cfg.seed)
        self.user = bench_admin()
        self.client = logged_in_client(self.user)
        self.plans: list[tuple[str, str]] = []
        self._inputs: dict[str, list[str]] = {}

    def search_inputs(self, kind: str) -> list[str]:
        """The varied queries of one search kind, the same for every use in a run."""
        if kind not in self._inputs:
            rng, n = random.Random(f"{self.cfg.seed}-{kind}"), self.cfg.iterations
            if kind == "phone":
                queries = [f"{rng.randrange(10_000):04d}" for _ in range(n)]
            elif kind == "name2":
                pairs = _common_pairs()
                queries = pairs[:2] + [rng.choice(pairs) for _ in range(n - 2)]
            else:
                where = "WHERE kind = 'person' AND char_length(display_name) = 3 LIMIT 500"
                names = [
                    r[0]
                    for r in rows(
                        self.conn,
                        "SELECT display_name FROM crm_customer TABLESAMPLE BERNOULLI (1) "
                        f"REPEATABLE (%s) {where}",
                        [self.cfg.seed % 1000],
                    )
                ]
                if not names:  # a small data set: a 1 % sample can hold no such name
                    sql = f"SELECT display_name FROM crm_customer {where}"
                    names = [r[0] for r in rows(self.conn, sql)]
                queries = [rng.choice(names) for _ in range(n)]
            self._inputs[kind] = queries
        return self._inputs[kind]

    def explain_both(self, label: str, orm_sql: str, bare_sql: str, params: Any) -> dict:
        ours = explain(self.conn, orm_sql)
        floor = explain(self.conn, bare_sql, params)
        self.plans.append((f"{label}: product (the ORM's SQL)", ours.pop("text")))
        self.plans.append((f"{label}: bare SQL", floor.pop("text")))
        return {"product": ours, "bare_sql": floor}


# --- Search ------------------------------------------------------------------------------


def _search(
    ctx: Context, label: str, description: str, queries: list[str], where: str, param: Any
) -> dict[str, Any]:
    def orm(q: str) -> Any:
        return selectors.customer_list(user=ctx.user, query=q).rows

    def bare(q: str) -> Any:
        return rows(ctx.conn, page_sql(where), _params(param(q)))

    ours, floor = compare(queries, orm, bare)
    count_sql = f"SELECT count(*) FROM crm_customer c WHERE {where}"
    matches = [rows(ctx.conn, count_sql, _params(param(q)))[0][0] for q in queries[:20]]
    sample = queries[0]
    orm_sql = captured_sql(lambda: orm(sample))[-1]
    plans = ctx.explain_both(
        f"{label} {sample!r}", orm_sql, page_sql(where), _params(param(sample))
    )
    return figure(
        description,
        ours,
        floor,
        inputs=sorted(set(queries))[:12],
        matching_customers={"p50": sorted(matches)[len(matches) // 2], "max": max(matches)},
        explain={"query": sample, **plans},
    )


def _params(value: Any) -> Any:
    return value if isinstance(value, dict) else [value]


def search_phone(ctx: Context) -> dict[str, Any]:
    return _search(
        ctx,
        "phone fragment",
        "customer_list(query=<4 random digits>): first page of 25 live customers whose "
        "mobile's national number (or USCC) contains the digits",
        ctx.search_inputs("phone"),
        PHONE_WHERE,
        lambda q: {"like": _like(q)},
    )


def _like(q: str) -> str:
    return f"%{q}%"


def _lower(q: str) -> str:
    return q.lower()


def _common_pairs() -> list[str]:
    return ["王伟", "李娜"] + [s + g for s in SURNAMES[:10] for g in GIVEN[:10]]


def search_name_2(ctx: Context) -> dict[str, Any]:
    return _search(
        ctx,
        "name, 2 characters",
        "customer_list(query=<common 2-character name such as 王伟, 李娜>)",
        ctx.search_inputs("name2"),
        GRAMS_WHERE,
        _lower,
    )


def search_name_3(ctx: Context) -> dict[str, Any]:
    return _search(
        ctx,
        "name, 3 characters",
        "customer_list(query=<a 3-character name such as 王建国>)",
        ctx.search_inputs("name3"),
        ILIKE_WHERE,
        _like,
    )


def flush_gin_pending_lists(conn: psycopg.Connection) -> int:
    """Merge the GIN indexes' pending lists (``fastupdate``) into the indexes proper.

    Rows inserted since the last VACUUM wait in a pending list that every search through
    that index scans in full; measuring with or without one is a different benchmark.
    """
    return sum(
        r[0]
        for r in rows(
            conn,
            "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
            "WHERE a.amname = 'gin' AND i.indrelid::regclass::text LIKE 'crm_%%'",
        )
    )


def _searches_now(ctx: Context, count: int) -> dict[str, Any]:
    result = {}
    for kind in ("phone", "name2", "name3"):
        series = Series()
        for q in ctx.search_inputs(kind)[:count]:
            time_orm(lambda q=q: selectors.customer_list(user=ctx.user, query=q).rows, series)
        result[kind] = series.stats()
    return result


# --- The 360 view ------------------------------------------------------------------------

_BARE_360 = [
    ("SELECT * FROM crm_customer WHERE id = %(c)s", True),
    (
        "SELECT id, type, value, verified, source FROM crm_identity "
        "WHERE customer_id = %(c)s ORDER BY type, id",
        True,
    ),
    (
        "SELECT t.business_unit_id, b.code, b.name, t.currency, min(t.occurred_at), "
        "max(t.occurred_at) AS last, sum(t.amount), "
        "count(*) FILTER (WHERE t.kind = 'purchase'), "
        "count(*) FILTER (WHERE t.kind = 'cancellation') "
        "FROM crm_transaction t JOIN crm_businessunit b ON b.id = t.business_unit_id "
        "WHERE t.customer_id = %(c)s GROUP BY 1, 2, 3, 4 ORDER BY last DESC",
        True,
    ),
    (
        "SELECT DISTINCT ON (channel, purpose) channel, purpose, granted, occurred_at, source "
        "FROM crm_consent WHERE customer_id = %(c)s "
        "ORDER BY channel, purpose, occurred_at DESC, id DESC",
        True,
    ),
    (
        "SELECT ct.id, t.name, k.name, k.color, ct.rule, u.username FROM crm_customertag ct "
        "JOIN crm_tag t ON t.id = ct.tag_id JOIN crm_tagcategory k ON k.id = t.category_id "
        "LEFT JOIN crm_user u ON u.id = ct.set_by_id WHERE ct.customer_id = %(c)s "
        "ORDER BY k.name, t.name",
        True,
    ),
    (
        "SELECT m.id, m.reason, l.display_name FROM crm_merge m "
        "JOIN crm_customer l ON l.id = m.loser_id WHERE m.survivor_id = %(c)s",
        True,
    ),
    (
        "SELECT d.id, a.display_name, b.display_name FROM crm_duplicatecandidate d "
        "JOIN crm_customer a ON a.id = d.customer_a_id "
        "JOIN crm_customer b ON b.id = d.customer_b_id "
        "WHERE d.status = 'open' AND (d.customer_a_id = %(c)s OR d.customer_b_id = %(c)s) "
        "ORDER BY d.score DESC, d.id DESC LIMIT 5",
        True,
    ),
    ("SELECT count(*) FROM crm_timelineevent WHERE customer_id = %(c)s", True),
    (
        "SELECT e.id, e.type, e.occurred_at, e.summary, e.data, u.username, b.code "
        "FROM crm_timelineevent e LEFT JOIN crm_user u ON u.id = e.actor_id "
        "LEFT JOIN crm_businessunit b ON b.id = e.business_unit_id "
        "WHERE e.customer_id = %(c)s ORDER BY e.occurred_at DESC, e.id DESC LIMIT 25",
        True,
    ),
    ("SELECT id, code, name FROM crm_businessunit ORDER BY code", False),
    (
        "SELECT t.id, t.name, k.name, k.color FROM crm_tag t "
        "JOIN crm_tagcategory k ON k.id = t.category_id ORDER BY k.name, t.name",
        False,
    ),
]


def _bare_360(conn: psycopg.Connection, customer_id: int) -> None:
    for sql, _per_customer in _BARE_360:
        conn.execute(sql, {"c": customer_id}).fetchall()


def view_360(ctx: Context) -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    result: dict[str, Any] = {}
    for label, customers in (("big", ctx.lay.big_customers), ("small", ctx.lay.small_customers)):
        inputs = [customers[i % len(customers)] for i in range(ctx.cfg.iterations)]
        body: dict[str, int] = {}

        def get(cid: int, body: dict[str, int] = body) -> None:
            response = ctx.client.get(reverse("customer-detail", args=[cid]))
            if response.status_code != 200:
                raise SystemExit(f"/customers/{cid}/ answered {response.status_code}")
            body[str(cid)] = len(response.content)

        ours, floor = compare(inputs, get, lambda cid: _bare_360(ctx.conn, cid))
        counts = rows(
            ctx.conn,
            "SELECT (SELECT count(*) FROM crm_transaction WHERE customer_id = c), "
            "(SELECT count(*) FROM crm_timelineevent WHERE customer_id = c) "
            "FROM unnest(%s::bigint[]) AS c",
            [customers],
        )
        sizes[label] = {
            "customers": customers,
            "transactions": {"min": min(r[0] for r in counts), "max": max(r[0] for r in counts)},
            "timeline_events": {
                "min": min(r[1] for r in counts),
                "max": max(r[1] for r in counts),
            },
            "html_bytes": {"min": min(body.values()), "max": max(body.values())},
        }
        result[label] = figure(
            f"GET /customers/<id>/ as an admin, {label} customers", ours, floor, **sizes[label]
        )
    # Where the time of the biggest page goes: the per-unit aggregate reads every row.
    top = ctx.lay.big_customers[0]
    result["explain_units_aggregate"] = _explain_one(
        ctx, "360 per-unit aggregate", _BARE_360[2][0], top
    )
    result["explain_timeline_page"] = _explain_one(ctx, "360 timeline page", _BARE_360[8][0], top)
    big_q, small_q = result["big"]["product"]["queries"], result["small"]["product"]["queries"]
    result["same_query_count"] = big_q == small_q and big_q["min"] == big_q["max"]
    return result


def _explain_one(ctx: Context, label: str, sql: str, customer_id: int) -> dict[str, Any]:
    plan = explain(ctx.conn, sql, {"c": customer_id})
    ctx.plans.append((f"{label} (customer {customer_id})", plan.pop("text")))
    return plan


# --- The list ----------------------------------------------------------------------------

_LIST_AUX = [
    "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = 'crm_customer'::regclass",
    "SELECT id, code, name FROM crm_businessunit ORDER BY code",
    "SELECT t.id, t.name, k.name FROM crm_tag t JOIN crm_tagcategory k ON k.id = t.category_id "
    "ORDER BY k.name, t.name",
]


def _bare_list(conn: psycopg.Connection, where: str = "true", params: Any = None) -> None:
    conn.execute(page_sql(where), params).fetchall()
    for sql in _LIST_AUX:
        conn.execute(sql).fetchall()


def list_first_page(ctx: Context) -> dict[str, Any]:
    url = reverse("customer-list")

    def get(_: int) -> None:
        response = ctx.client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")

    ours, floor = compare(range(ctx.cfg.iterations), get, lambda _: _bare_list(ctx.conn))
    return figure("GET /customers/ (page 1, no search, estimated total)", ours, floor)


def list_deep_page(ctx: Context) -> dict[str, Any]:
    """A page half a million rows deep: keyset (what the list does) against OFFSET."""
    live = rows(ctx.conn, "SELECT count(*) FROM crm_customer WHERE merged_into_id IS NULL")[0][0]
    depth = min(500_000, live // 2)
    step = 10
    n = ctx.cfg.iterations
    ids = [
        r[0]
        for r in rows(
            ctx.conn,
            "SELECT id FROM crm_customer WHERE merged_into_id IS NULL "
            "ORDER BY id DESC OFFSET %s LIMIT %s",
            [depth, n * step + 1],
        )
    ]
    # Page i starts after the row at offset depth + i*step: keyset "id < that id", or OFFSET.
    inputs = [(ids[i * step], depth + i * step + 1) for i in range(n) if i * step < len(ids)]
    url = reverse("customer-list")
    expected = rows(ctx.conn, page_sql("c.id < %s"), [inputs[0][0]])[0][0]
    page = selectors.customer_list(user=ctx.user, after=encode_cursor([inputs[0][0]]))
    if not page.rows or page.rows[0].pk != expected:
        raise SystemExit("the list's ?after= cursor format changed: update encode_cursor()")

    def get(x: tuple[int, int]) -> None:
        response = ctx.client.get(url, {"after": encode_cursor([x[0]])})
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")

    ours, keyset = compare(inputs, get, lambda x: _bare_list(ctx.conn, "c.id < %s", [x[0]]))
    # OFFSET at its best: skip ids only (a deferred join), then fetch and annotate 26 rows.
    # Putting OFFSET on the page query itself runs the phone/last-purchase subqueries for
    # every skipped row (see explain "offset_naive"): seconds, not milliseconds.
    offset, keyset_page = Series(), Series()
    for x in inputs[:20]:
        time_bare(lambda x=x: rows(ctx.conn, _offset_sql(x[1])), offset)
        time_bare(lambda x=x: rows(ctx.conn, page_sql("c.id < %s"), [x[0]]), keyset_page)
    offset_stats, keyset_stats = offset.stats(), keyset_page.stats()
    plans = {
        "keyset": _explain_plain(ctx, "deep page, keyset", page_sql("c.id < %s"), [inputs[0][0]]),
        "offset": _explain_plain(
            ctx, "deep page, OFFSET (deferred join)", _offset_sql(inputs[0][1])
        ),
        "offset_naive": _explain_plain(
            ctx,
            "deep page, OFFSET on the page query",
            page_sql(limit=f"LIMIT {PAGE + 1} OFFSET {inputs[0][1]}"),
        ),
    }
    return figure(
        f"GET /customers/?after=<cursor ~{depth:,} rows deep> (keyset)",
        ours,
        keyset,
        depth=depth,
        keyset_page_query_bare_sql=keyset_stats,
        offset_bare_sql=offset_stats,
        offset_vs_keyset_bare_p50=round(offset_stats["p50_ms"] / keyset_stats["p50_ms"], 1),
        explain=plans,
    )


def _offset_sql(offset: int) -> str:
    return page_sql(
        "c.id IN (SELECT id FROM crm_customer WHERE merged_into_id IS NULL "
        f"ORDER BY id DESC OFFSET {offset} LIMIT {PAGE + 1})"
    )


def _explain_plain(ctx: Context, label: str, sql: str, params: Any = None) -> dict[str, Any]:
    plan = explain(ctx.conn, sql, params)
    ctx.plans.append((label, plan.pop("text")))
    return plan


# --- Ingestion ---------------------------------------------------------------------------


def cleanup_ingestion(conn: psycopg.Connection) -> int:
    """Remove what the ingestion benchmark wrote, so that every run starts alike."""
    sources = [INGEST_SOURCE, COPY_SOURCE, INSERT_SOURCE]
    with conn.transaction():
        deleted = conn.execute(
            "DELETE FROM crm_transaction WHERE source = ANY(%s)", [sources]
        ).rowcount
        created = "SELECT id FROM crm_customer WHERE source = %s"
        for table in ("crm_timelineevent", "crm_identity"):
            conn.execute(f"DELETE FROM {table} WHERE customer_id IN ({created})", [INGEST_SOURCE])
        conn.execute("DELETE FROM crm_customer WHERE source = %s", [INGEST_SOURCE])
    return deleted


def _ingest_rows(ctx: Context) -> list[TransactionInput]:
    cfg, rng = ctx.cfg, ctx.rng
    distinct = max(2, cfg.ingest_rows // 5)
    sample = rng.sample(range(1, cfg.customers + 1), min(cfg.customers, distinct))
    known = [
        r[0]
        for r in rows(
            ctx.conn,
            "SELECT value FROM crm_identity WHERE type = 'mobile' AND customer_id = ANY(%s)",
            [sample],
        )
    ][: distinct // 2]
    new: set[str] = set()
    while len(new) < distinct - len(known):
        new.add(f"+86199{rng.randrange(10**8):08d}")  # 199: never generated
    pool = [p.removeprefix("+86") for p in known + sorted(new)]  # as a POS sends them
    now = datetime.now(UTC)
    result: list[TransactionInput] = []
    for k in range(cfg.ingest_rows):
        original = result[k - 2000] if k >= 2000 else None
        if original is not None and original.kind == "purchase" and rng.random() < 0.03:
            result.append(
                TransactionInput(
                    external_id=f"ING{k:08d}",
                    occurred_at=original.occurred_at + timedelta(hours=1),
                    amount=-Decimal(str(original.amount)),
                    channel=original.channel,
                    kind="cancellation",
                    original_external_id=original.external_id,
                    identities=list(original.identities),
                )
            )
            continue
        name = rng.choice(SURNAMES[:30]) + rng.choice(GIVEN) + rng.choice(["", rng.choice(GIVEN)])
        result.append(
            TransactionInput(
                external_id=f"ING{k:08d}",
                occurred_at=now - timedelta(minutes=rng.randrange(60 * 24 * 30)),
                amount=Decimal(rng.randrange(100, 2_000_00)) / 100,
                channel=rng.choice(["store", "store", "online_mall", "wechat_mini"]),
                identities=[IdentityInput("mobile", rng.choice(pool))],
                customer_attributes={"display_name": name},
            )
        )
    return result


_COPY_COLUMNS = (
    "business_unit_id, customer_id, source, external_id, channel, kind, status, "
    "occurred_at, amount, currency, lines, ingested_at"
)

_UNNEST_INSERT = f"""
INSERT INTO crm_transaction ({_COPY_COLUMNS})
SELECT b, c, s, e, ch, k, st, o, a, cur, l::jsonb, i
FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[],
            %s::text[], %s::timestamptz[], %s::numeric[], %s::text[], %s::text[],
            %s::timestamptz[]) AS r(b, c, s, e, ch, k, st, o, a, cur, l, i)
ON CONFLICT (source, external_id) DO NOTHING
"""


def ingestion(ctx: Context) -> dict[str, Any]:
    conn = ctx.conn
    cleanup_ingestion(conn)
    unit = BusinessUnit.objects.get(code="AUTO")
    inputs = _ingest_rows(ctx)
    n = len(inputs)
    distinct_phones = len({r.identities[0].value for r in inputs})

    print(f"  ingest_transactions, dry run (the real path rolled back), {n:,} rows ...", flush=True)
    dry = Series()
    time_orm(
        lambda: services.ingest_transactions(
            business_unit=unit, source=INGEST_SOURCE, rows=inputs, dry_run=True
        ),
        dry,
    )
    print(f"  ingest_transactions, {n:,} rows in batches of 1000 ...", flush=True)
    ours = Series()
    with CaptureQueriesContext(connection) as captured:
        result = time_bare(
            lambda: services.ingest_transactions(
                business_unit=unit, source=INGEST_SOURCE, rows=inputs, batch_size=1000
            ),
            ours,
        )
    ours.queries.append(len(captured.captured_queries))
    if result.errors or result.created != n:
        raise SystemExit(f"ingestion went wrong: {result.as_dict(max_errors=5)}")
    by_statement = _seconds_by_statement(captured.captured_queries)
    print("  searches right after the ingestion (GIN pending lists not merged yet) ...")
    count = min(40, ctx.cfg.iterations)
    pending = _searches_now(ctx, count)
    merged_pages = flush_gin_pending_lists(conn)
    merged = _searches_now(ctx, count)

    owner = dict(
        rows(
            conn,
            "SELECT external_id, customer_id FROM crm_transaction WHERE source = %s",
            [INGEST_SOURCE],
        )
    )
    now = datetime.now(UTC)

    def bare_rows(source: str, prefix: str) -> list[tuple]:
        return [
            (
                unit.pk,
                owner[r.external_id],
                source,
                prefix + r.external_id[3:],
                r.channel,
                r.kind,
                "completed",
                r.occurred_at,
                Decimal(str(r.amount)),
                "CNY",
                "[]",
                now,
            )
            for r in inputs
        ]

    print(f"  COPY of the same {n:,} rows ...", flush=True)
    copy_rows = bare_rows(COPY_SOURCE, "CPY")
    copy = Series()

    def do_copy() -> None:
        copy_sql = f"COPY crm_transaction ({_COPY_COLUMNS}) FROM STDIN"
        with conn.transaction(), conn.cursor() as cur, cur.copy(copy_sql) as cp:
            for row in copy_rows:
                cp.write_row(row)

    time_bare(do_copy, copy)

    print(f"  INSERT ... SELECT unnest(...) of the same {n:,} rows, 1000 a statement ...")
    insert_rows = bare_rows(INSERT_SOURCE, "INS")
    insert = Series()

    def do_insert() -> None:
        for i in range(0, n, 1000):
            batch = insert_rows[i : i + 1000]
            with conn.transaction():
                conn.execute(_UNNEST_INSERT, [list(col) for col in zip(*batch, strict=True)])

    time_bare(do_insert, insert)
    created_customers = result.customers_created
    cleanup_ingestion(conn)
    for table in ("crm_transaction", "crm_customer", "crm_identity", "crm_timelineevent"):
        conn.execute(f"VACUUM (ANALYZE) {table}")

    def rate(series: Series) -> float:
        return round(n / (series.times_ms[0] / 1000))

    ours_rate, copy_rate, insert_rate = rate(ours), rate(copy), rate(insert)
    return {
        "what": (
            f"services.ingest_transactions(): {n:,} new transactions, batches of 1000, "
            f"{distinct_phones:,} distinct phones of which ~half are known customers"
        ),
        "rows": n,
        "product": {
            "seconds": round(ours.times_ms[0] / 1000, 2),
            "rows_per_s": ours_rate,
            "queries": ours.queries[0],
            "customers_created": created_customers,
            "cancellations_linked": result.cancellations_linked,
        },
        "dry_run": {
            "what": "the same rows with dry_run=True: the real path, rolled back",
            "seconds": round(dry.times_ms[0] / 1000, 2),
            "rows_per_s": rate(dry),
            "queries": dry.queries[0],
        },
        "bare_sql": {
            "what": "COPY crm_transaction FROM STDIN, customer ids already known",
            "seconds": round(copy.times_ms[0] / 1000, 2),
            "rows_per_s": copy_rate,
        },
        "bare_sql_batched_insert": {
            "what": "INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING, 1000 a statement",
            "seconds": round(insert.times_ms[0] / 1000, 2),
            "rows_per_s": insert_rate,
        },
        "db_seconds_by_statement": by_statement,
        "search_after_ingestion": {
            "what": (
                f"customer_list() p50/p95 for {count} queries of each search kind right after "
                "the ingestion (its new customers and identities still in the GIN indexes' "
                "pending lists), then after gin_clean_pending_list()"
            ),
            "pending_list_pages_merged": merged_pages,
            "with_pending_lists": pending,
            "after_merge": merged,
        },
        "ratio": round(copy_rate / ours_rate, 2),
        "ratio_vs_batched_insert": round(insert_rate / ours_rate, 2),
    }


def _seconds_by_statement(queries: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the database time of the ingestion went (Django's per-statement timings)."""
    totals: dict[str, list[float]] = {}
    for q in queries:
        sql = " ".join(q["sql"].split())
        if sql.startswith("WITH rows AS"):
            key = "INSERT crm_transaction (ON CONFLICT DO NOTHING)"
        elif match := re.match(r'(INSERT INTO|UPDATE|DELETE FROM) "?(\w+)', sql):
            key = f"{match[1].split()[0]} {match[2]}"
        elif match := re.match(r'SELECT .*? FROM "?(\w+)', sql):
            key = f"SELECT {match[1]}"
        else:
            key = sql.split()[0] if sql else "?"
        entry = totals.setdefault(key, [0, 0.0])
        entry[0] += 1
        entry[1] += float(q["time"])
    return {
        key: {"statements": int(count), "seconds": round(seconds, 2)}
        for key, (count, seconds) in sorted(totals.items(), key=lambda kv: -kv[1][1])
    }


def run_all(ctx: Context) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    steps = [
        ("search_phone_fragment", search_phone),
        ("search_name_2_chars", search_name_2),
        ("search_name_3_chars", search_name_3),
        ("customer_360", view_360),
        ("list_first_page", list_first_page),
        ("list_deep_page", list_deep_page),
        ("ingestion", ingestion),
        ("file_import", file_import.file_import),
        ("http_under_load", http_load.http_under_load),
        ("connections_under_load", http_load.connections_under_load),
        ("http_floor", http_floor.http_floor),
        ("accounts_list", accounts.accounts_list),
        ("accounts_page", accounts.accounts_page),
        ("accounts_pipeline", accounts.accounts_pipeline),
        ("metrics_recompute", metrics.metrics_recompute),
        ("metrics_list_by_stage", metrics.metrics_list_by_stage),
        ("segment_count", segments.segment_count),
        ("rule_tag_apply", segments.rule_tag_apply),
    ]
    only = {s for s in _only() if s}
    for key, step in steps:
        if only and key not in only:
            continue
        print(f"- {key}", flush=True)
        started = time.perf_counter()
        figures[key] = step(ctx)
        print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return figures


def _only() -> list[str]:
    import os

    return os.environ.get("BENCH_ONLY", "").replace(" ", "").split(",")


__all__ = ["Context", "cleanup_ingestion", "run_all", "summary"]
