"""The coupons' benchmark (issue 21): ``python -m tests.bench.campaigns``.

    nice python -m tests.bench.campaigns                      # 1,000,000 coupons
    BENCH_COUPONS=5000000 nice python -m tests.bench.campaigns
    BENCH_COUPONS=3000 BENCH_COUPON_BULK=200 python -m tests.bench.campaigns   # a smoke run

Its own database on the project's server (``crm_bench_campaigns``, or
``crm_bench_campaigns_<coupons>``, or ``BENCH_DATABASE``), created, migrated and loaded here
(kept between runs). Figures, each beside the bare SQL of the same work (see README.md,
"Campaigns and coupons"):

- ``campaigns_validation``: ``campaigns.services.validate_coupon`` of random codes (four in
  five live, one in five already redeemed: the refusal with when and where) at the property
  company, p50/p95 (goal p95 ≤ 20 ms), beside one bare query reading what it decides on;
- ``campaigns_bulk_issue``: ``start_bulk_issue(run_now=True)`` of a fresh template to
  ``BENCH_COUPON_BULK`` customers, beside one set-based ``INSERT … SELECT`` of the same rows
  (plus the holdings and the stock counter; rolled back) (goal ≤ 3×);
- ``campaigns_redemption``: ``redeem_coupon`` from 16 threads with their own connections, each
  live code sent by two threads at once, redemptions/s and the double redemptions found
  (must be 0), beside the bare-SQL floor (``UPDATE … WHERE code = … AND status = 'issued'``,
  row count checked) on other codes of the same table (goal ≥ ⅓ of the floor).

The figures go to ``results.json`` under ``figures`` (those keys only) and the data set under
``campaigns``; every other key of the file stays.

Data (every value a function of the id, no ``random()``): ``C`` customers (a fifth of the
coupons); ``T`` templates of the dealership (AUTO), 200 off a 500 spend, redeemable at the
property company (PROP) and the dealership, funded by AUTO; coupon ``n`` is of template
``n % T``, owned by customer ``1 + (n × 7919) % C``, code ``codes._code((n × P) mod 31¹³)``
(P prime: distinct, valid check characters); status by ``n % 10``: 0–6 issued (valid until
2030), 7 redeemed at PROP, 8 expired, 9 voided. The holdings are counted from the coupons.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("BENCH_RESULTS") or HERE / "results.json").resolve()
DEFAULT_COUPONS = 1_000_000
FIGURES = (
    "campaigns_validation",
    "campaigns_bulk_issue",
    "campaigns_redemption",
    "campaigns_redemption_http",
    "campaigns_overview",
)
VALIDATION_GOAL_MS = 20.0
BULK_GOAL_RATIO = 3.0
SOURCE = "bench_campaigns"
CODE_PRIME = 1_000_000_007  # coprime with 31**13: n -> n*P mod 31**13 is a bijection
COUPON_TABLES = ("crm_customer", "campaigns_coupon", "campaigns_couponholding")
REFERENCE_DAY = "2026-12-01 00:00:00+08"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, "").replace("_", "") or default)


COUPONS = _int("BENCH_COUPONS", DEFAULT_COUPONS)
CUSTOMERS = _int("BENCH_COUPON_CUSTOMERS", max(COUPONS // 5, 10))
TEMPLATES = _int("BENCH_COUPON_TEMPLATES", 20)
BULK = _int("BENCH_COUPON_BULK", 100_000)
THREADS = _int("BENCH_COUPON_THREADS", 16)
OPS = _int("BENCH_COUPON_OPS", 4000)  # redemption attempts per side (two per code)
VALIDATIONS = _int("BENCH_ITERATIONS", 200)
CHUNK = _int("BENCH_CHUNK", 200_000)


def _database_name() -> str:
    return "crm_bench_campaigns" if COUPONS == DEFAULT_COUPONS else f"crm_bench_campaigns_{COUPONS}"


def code_of(n: int) -> str:
    from campaigns import codes

    return codes._code((n * CODE_PRIME) % codes._SPACE)


# --- the data set ----------------------------------------------------------------------------

_CUSTOMERS_SQL = """
INSERT INTO crm_customer (id, kind, display_name, gender, birthday, region, registered_name,
                          source, created_at, updated_at)
SELECT n, 'person',
       substr(%(surnames)s, 1 + floor(power(((n * 7919) %% 10007) / 10007.0, 2) * 100)::int, 1)
       || substr(%(given)s, 1 + floor(power(((n * 104729) %% 10009) / 10009.0, 1.5) * 200)::int, 1),
       CASE WHEN n %% 2 = 0 THEN 'female' ELSE 'male' END,
       date '1960-01-01' + ((n * 7) %% 15000)::int, '上海', '', %(source)s,
       %(reference)s::timestamptz - interval '1 minute' * ((n * 48271) %% 2629440),
       %(reference)s::timestamptz
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
"""

_COUPON_COLUMNS = (
    "id",
    "code",
    "template_id",
    "business_unit_id",
    "customer_id",
    "face_value",
    "source",
    "source_reference",
    "issued_at",
    "valid_from",
    "valid_until",
    "status",
    "redeemed_business_unit_id",
    "redeemed_at",
    "redemption_reference",
    "order_amount",
    "discount",
    "voided_at",
    "void_reason",
)


def _coupon_rows(lo: int, hi: int, templates: list[int], units: list[int]) -> Any:
    issued = datetime(2026, 6, 1, tzinfo=UTC)
    until = datetime(2030, 1, 1, tzinfo=UTC)
    past = datetime(2026, 9, 1, tzinfo=UTC)
    redeemed_at = datetime(2026, 8, 1, tzinfo=UTC)
    auto, prop = units[0], units[1]
    for n in range(lo, hi + 1):
        kind = n % 10
        status = "issued" if kind < 7 else ("redeemed", "expired", "voided")[kind - 7]
        redeemed = status == "redeemed"
        yield (
            n,
            code_of(n),
            templates[n % len(templates)],
            auto,
            1 + (n * 7919) % CUSTOMERS,
            Decimal("200"),
            "bulk",
            "",
            issued,
            issued,
            past if status == "expired" else until,
            status,
            prop if redeemed else None,
            redeemed_at if redeemed else None,
            f"BR{n}" if redeemed else None,
            Decimal("800") if redeemed else None,
            Decimal("200") if redeemed else None,
            redeemed_at if status == "voided" else None,
            "",
        )


def _one(conn: Any, sql: str, params: Any = None) -> Any:
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def _templates(units: list[int]) -> list[int]:
    """The data set's templates (made once through the ORM, with their funding)."""
    from campaigns.models import CouponKind, CouponTemplate, TemplateFunding

    found = list(
        CouponTemplate.objects.filter(name__startswith="bench:data:")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(found) >= TEMPLATES:
        return found[:TEMPLATES]
    for i in range(len(found), TEMPLATES):
        template = CouponTemplate.objects.create(
            business_unit_id=units[0],
            name=f"bench:data:{i:02d} 物业费抵扣券 200 元",
            kind=CouponKind.FIXED,
            value=Decimal("200"),
            minimum_spend=Decimal("500"),
            valid_until=datetime(2030, 1, 1, tzinfo=UTC),
            stock=COUPONS * 2,
            per_customer_limit=1000,
        )
        TemplateFunding.objects.create(
            template=template, business_unit_id=units[0], share=Decimal("100")
        )
        template.redeemable_units.set([units[1], units[0]])
        found.append(template.pk)
    return found


def _defer_secondary(conn: Any) -> list[str]:
    from tests.bench.generate import _SECONDARY_SQL

    with conn.transaction():
        found = conn.execute(_SECONDARY_SQL, {"tables": list(COUPON_TABLES)}).fetchall()
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


def load(conn: Any, units: list[int], clock: Any) -> bool:
    """Load what is missing, chunk by chunk (secondary indexes and foreign keys dropped first,
    built by ``generate._restore_deferred`` afterwards)."""
    from tests.bench.generate import GIVEN, SURNAMES, _chunks

    templates = _templates(units)
    customers_done = _one(
        conn, "SELECT EXISTS (SELECT 1 FROM crm_customer WHERE id = %s)", [CUSTOMERS]
    )
    coupons_done = _one(
        conn, "SELECT EXISTS (SELECT 1 FROM campaigns_coupon WHERE id = %s)", [COUPONS]
    )
    if customers_done and coupons_done:
        return False
    other = _one(conn, "SELECT count(*) FROM crm_customer WHERE source <> %s", [SOURCE])
    if other:
        raise SystemExit("the coupons' bench database holds other customers: use a new one")
    dropped = clock.timed(
        "campaigns: drop secondary indexes and foreign keys", _defer_secondary, conn
    )
    if dropped:
        print(f"  dropped until the load is done: {', '.join(dropped)}", flush=True)
    params = {"surnames": SURNAMES, "given": GIVEN, "source": SOURCE, "reference": REFERENCE_DAY}

    def customers() -> bool:
        did = False
        for lo, hi in _chunks(1, CUSTOMERS, CHUNK):
            if _one(
                conn,
                "SELECT EXISTS (SELECT 1 FROM crm_customer WHERE id BETWEEN %s AND %s)",
                [lo, hi],
            ):
                continue
            with conn.transaction():
                conn.execute("SET LOCAL synchronous_commit = off")
                conn.execute(_CUSTOMERS_SQL, {**params, "lo": lo, "hi": hi})
            print(f"  customers: {hi:>12,} / {CUSTOMERS:,}", flush=True)
            did = True
        return did

    def coupons() -> bool:
        did = False
        started = time.perf_counter()
        columns = ", ".join(_COUPON_COLUMNS)
        for lo, hi in _chunks(1, COUPONS, CHUNK):
            if _one(
                conn,
                "SELECT EXISTS (SELECT 1 FROM campaigns_coupon WHERE id BETWEEN %s AND %s)",
                [lo, hi],
            ):
                continue
            with conn.transaction():
                conn.execute("SET LOCAL synchronous_commit = off")
                with conn.cursor().copy(f"COPY campaigns_coupon ({columns}) FROM STDIN") as copy:
                    for row in _coupon_rows(lo, hi, templates, units):
                        copy.write_row(row)
            print(
                f"  coupons: {hi:>12,} / {COUPONS:,}  ({time.perf_counter() - started:6.1f} s)",
                flush=True,
            )
            did = True
        return did

    def holdings() -> bool:
        with conn.transaction():
            conn.execute(
                "DELETE FROM campaigns_couponholding WHERE template_id = ANY(%s)", [templates]
            )
            conn.execute(
                "INSERT INTO campaigns_couponholding (template_id, customer_id, issued, allowed) "
                "SELECT template_id, customer_id, count(*), 1000 FROM campaigns_coupon "
                "WHERE template_id = ANY(%s) GROUP BY template_id, customer_id",
                [templates],
            )
            conn.execute(
                "UPDATE campaigns_coupontemplate t SET issued_count = c.n FROM "
                "(SELECT template_id, count(*) AS n FROM campaigns_coupon "
                " WHERE template_id = ANY(%s) GROUP BY template_id) c WHERE t.id = c.template_id",
                [templates],
            )
        return True

    clock.timed("campaigns: customers", customers)
    clock.timed("campaigns: coupons (COPY)", coupons)
    clock.timed("campaigns: holdings and stock counters", holdings)
    for table in ("crm_customer", "campaigns_coupon"):
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 1) FROM {table}))"
        )
    return True


def rows(conn: Any) -> dict[str, Any]:
    result = {table: _one(conn, f"SELECT count(*) FROM {table}") for table in COUPON_TABLES}
    result["coupons_by_status"] = dict(
        conn.execute(
            "SELECT status, count(*) FROM campaigns_coupon GROUP BY status ORDER BY 1"
        ).fetchall()
    )
    return result


# --- validation ------------------------------------------------------------------------------

_BARE_VALIDATION_SQL = """
SELECT c.id, c.status, c.valid_from, c.valid_until, c.customer_id, c.redeemed_at,
       c.redemption_reference, u.name, t.name, t.kind, t.value, t.cap, t.minimum_spend,
       EXISTS (SELECT 1 FROM campaigns_coupontemplate_redeemable_units r
               WHERE r.coupontemplate_id = t.id AND r.businessunit_id = %(unit)s),
       EXISTS (SELECT 1 FROM crm_blacklistentry b
               WHERE b.customer_id = c.customer_id AND b.status = 'active')
FROM campaigns_coupon c
JOIN campaigns_coupontemplate t ON t.id = c.template_id
LEFT JOIN crm_businessunit u ON u.id = c.redeemed_business_unit_id
WHERE c.code = %(code)s
"""


def validation_figure(conn: Any, units: list[int], run: str) -> dict[str, Any]:
    from campaigns.errors import CouponError
    from campaigns.services import validate_coupon
    from tests.bench.measure import compare, explain, figure

    rng = random.Random(f"{run}-validation")
    picks: list[int] = []
    while len(picks) < VALIDATIONS:  # every fifth a redeemed coupon (n % 10 == 7)
        n = rng.randint(1, COUPONS)
        if (n % 10 == 7) if len(picks) % 5 == 4 else (n % 10 < 7):
            picks.append(n)
    codes = [code_of(n) for n in picks]
    outcomes: dict[str, int] = {}

    def ours(code: str) -> Any:
        try:
            validate_coupon(code=code, business_unit=units[1], order_amount="800")
            key = "valid"
        except CouponError as exc:
            key = exc.code
        outcomes[key] = outcomes.get(key, 0) + 1

    ours_s, bare_s = compare(
        codes,
        ours,
        lambda code: conn.execute(
            _BARE_VALIDATION_SQL, {"code": code, "unit": units[1]}
        ).fetchall(),
    )
    result = figure(
        "validate_coupon(code, PROP, 800) of random codes (4 in 5 live, 1 in 5 redeemed)",
        ours_s,
        bare_s,
    )
    plan = explain(conn, _BARE_VALIDATION_SQL, {"code": codes[0], "unit": units[1]})
    result.update(
        {
            "outcomes": outcomes,
            "goal_p95_ms": VALIDATION_GOAL_MS,
            "goal_met": result["product"]["p95_ms"] <= VALIDATION_GOAL_MS,
            "bare_sql_what": "one query: the coupon by code with its template, the redeeming "
            "unit's name, whether the unit may redeem it and whether the owner is blacklisted",
            "bare_plan": {k: v for k, v in plan.items() if k != "text"},
            "load_average_1min": round(os.getloadavg()[0], 1),
        }
    )
    return result


# --- bulk issue ------------------------------------------------------------------------------

_BARE_BULK_SQL = [
    # the coupons, one statement
    """
    INSERT INTO campaigns_coupon (code, template_id, business_unit_id, customer_id, face_value,
                                  source, source_reference, issued_at, valid_from, valid_until,
                                  status, void_reason)
    SELECT x.code, %(template)s, %(unit)s, x.c, 200, 'bulk', %(key)s, now(),
           now(), %(until)s, 'issued', ''
    FROM unnest(%(codes)s::text[], %(customers)s::bigint[]) AS x(code, c)
    """,
    # the holdings (per-customer counters)
    """
    INSERT INTO campaigns_couponholding (template_id, customer_id, issued, allowed)
    SELECT %(template)s, c, 1, 1 FROM unnest(%(customers)s::bigint[]) AS c
    """,
    # the stock counter
    """
    UPDATE campaigns_coupontemplate SET issued_count = issued_count + %(n)s
    WHERE id = %(template)s AND issued_count + %(n)s <= stock
    """,
]


def _bulk_template(units: list[int], name: str) -> Any:
    from campaigns.models import CouponKind, CouponTemplate, TemplateFunding

    template = CouponTemplate.objects.create(
        business_unit_id=units[0],
        name=name,
        kind=CouponKind.FIXED,
        value=Decimal("50"),
        minimum_spend=Decimal("100"),
        valid_until=datetime(2030, 1, 1, tzinfo=UTC),
        stock=BULK,
        per_customer_limit=1,
    )
    TemplateFunding.objects.create(template=template, business_unit_id=units[0], share=100)
    template.redeemable_units.set([units[1]])
    return template


def _bare_bulk(
    conn: Any,
    template_id: int,
    unit: int,
    customers: list[int],
    codes: list[str],
    key: str,
    commit: bool,
) -> float:
    """The set-based bare SQL of a bulk issue, timed: committed (as the product must), or
    rolled back (the figure's first version)."""
    params = {
        "template": template_id,
        "unit": unit,
        "customers": customers,
        "codes": codes,
        "key": key,
        "until": datetime(2030, 1, 1, tzinfo=UTC),
        "n": len(customers),
    }
    started = time.perf_counter()
    with conn.transaction(force_rollback=not commit):
        for sql in _BARE_BULK_SQL:
            conn.execute(sql, params)
    return time.perf_counter() - started


def bulk_figure(conn: Any, units: list[int], run: str) -> dict[str, Any]:
    from django.db import connection as django_connection
    from django.test.utils import CaptureQueriesContext

    from campaigns.codes import new_codes
    from campaigns.services import start_bulk_issue

    template = _bulk_template(units, f"bench:bulk:{run}")
    rng = random.Random(f"{run}-bulk")
    customers = rng.sample(range(1, CUSTOMERS + 1), min(BULK, CUSTOMERS))

    # Bare SQL first, same rows, indexes and constraints in place, on a template of its own:
    # committed, with codes drawn as the product draws them (spread over the code indexes as
    # the product's must be), then removed (untimed) ...
    bare_template = _bulk_template(units, f"bench:bulk-bare:{run}")
    bare_seconds = _bare_bulk(
        conn, bare_template.pk, units[0], customers, new_codes(len(customers)), f"bare-{run}", True
    )
    with conn.transaction():
        for table in ("campaigns_coupon", "campaigns_couponholding"):
            conn.execute(f"DELETE FROM {table} WHERE template_id = %s", [bare_template.pk])
    bare_template.delete()
    # ... and as the figure's first version measured it: rolled back (no commit to wait for),
    # codes 'Z' + the customer's id (appended at one end of the code indexes).
    sequential = [f"Z{c:013d}" for c in customers]
    old_bare_seconds = _bare_bulk(
        conn, template.pk, units[0], customers, sequential, f"bare-{run}", False
    )

    with CaptureQueriesContext(django_connection) as captured:
        started = time.perf_counter()
        bulk = start_bulk_issue(
            template=template, customer_ids=customers, key=f"bench-{run}", run_now=True
        )
        seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = start_bulk_issue(
        template=template, customer_ids=customers, key=f"bench-{run}", run_now=True
    )
    rerun_seconds = time.perf_counter() - started
    issued = _one(
        conn, "SELECT count(*) FROM campaigns_coupon WHERE template_id = %s", [template.pk]
    )
    ratio = round(seconds / bare_seconds, 2) if bare_seconds else None
    return {
        "what": f"start_bulk_issue(run_now=True) of a fresh template to {len(customers):,} "
        f"customers among {CUSTOMERS:,}, with {COUPONS:,} coupons in the table",
        "product": {
            "seconds": round(seconds, 2),
            "coupons_per_s": round(bulk.issued / seconds, 1) if seconds else None,
            "issued": bulk.issued,
            "statements": len(captured.captured_queries),
        },
        "rerun_same_key": {"seconds": round(rerun_seconds, 2), "issued_total": again.issued},
        "coupons_of_the_template": issued,
        "bare_sql": {
            "seconds": round(bare_seconds, 2),
            "what": "INSERT … SELECT of the coupons from unnest(codes drawn by "
            "campaigns.codes.new_codes, customers), the holdings the same way, the stock "
            "counter: one transaction, committed (then removed, untimed)",
        },
        "bare_sql_first_version": {
            "seconds": round(old_bare_seconds, 2),
            "ratio": round(seconds / old_bare_seconds, 2) if old_bare_seconds else None,
            "what": "the same statements rolled back, codes 'Z' + the customer's id",
        },
        "ratio": ratio,
        "goal": f"<= {BULK_GOAL_RATIO}x the set-based INSERT",
        "goal_met": ratio is not None and ratio <= BULK_GOAL_RATIO and issued == len(customers),
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


# --- redemption under concurrency ------------------------------------------------------------


def _barrier_threads(count: int, work: Any) -> float:
    barrier = threading.Barrier(count + 1)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{len(errors)} threads failed: {errors[0]!r}")
    return time.perf_counter() - started


def _live_sample(conn: Any, rng: random.Random, count: int, taken: set[int]) -> list[int]:
    """``count`` coupon ids still issued (the data set's live ones not used by this run)."""
    found: list[int] = []
    while len(found) < count:
        wanted = [rng.randint(1, COUPONS) for _ in range(count * 2)]
        for n in conn.execute(
            "SELECT id FROM campaigns_coupon WHERE id = ANY(%s) AND status = 'issued' "
            "AND valid_until > now()",
            [wanted],
        ).fetchall():
            if n[0] not in taken and len(found) < count:
                taken.add(n[0])
                found.append(n[0])
    return found


def _plan(ids: list[int]) -> list[list[int]]:
    """Each code twice, in two different threads (every thread's list shuffled alike)."""
    per_thread: list[list[int]] = [[] for _ in range(THREADS)]
    for i, n in enumerate(ids):
        per_thread[i % THREADS].append(n)
        per_thread[(i + THREADS // 2 + 1) % THREADS].append(n)
    return per_thread


def checked_in_db(conn: Any, ids: list[int], answered_redeemed: int) -> dict[str, int]:
    """What the database holds for the coupons ``ids`` after a run: the redeemed ones, their
    settlement lines and timeline events; a double redemption is a success answered more than
    once for a coupon, or a second line or event."""
    check = conn.execute(
        """
        SELECT count(*) FILTER (WHERE c.status = 'redeemed'),
               coalesce(sum((SELECT count(*) FROM crm_settlementline l
                             WHERE l.source_kind = 'coupon'
                               AND l.source_reference LIKE 'coupon:' || c.id || ':%%')), 0),
               coalesce(sum((SELECT count(*) FROM crm_timelineevent e
                             WHERE e.customer_id = c.customer_id AND e.type = 'coupon.redeemed'
                               AND (e.data ->> 'coupon')::bigint = c.id)), 0)
        FROM campaigns_coupon c WHERE c.id = ANY(%s)
        """,
        [ids],
    ).fetchone()
    redeemed_rows, settlement_lines, events = (int(x) for x in check)
    return {
        "coupons_redeemed_in_db": redeemed_rows,
        "settlement_lines": settlement_lines,
        "timeline_events": events,
        "double_redemptions": answered_redeemed
        - redeemed_rows
        + max(settlement_lines - redeemed_rows, 0)
        + max(events - redeemed_rows, 0),
    }


def floor_figure(conn: Any, ids: list[int], prop: int, run: str, tag: str = "f") -> dict[str, Any]:
    """The bare-SQL floor: per attempt one transaction ``UPDATE … WHERE code = … AND status =
    'issued'`` (row count checked), each of ``ids`` sent by two of ``THREADS`` threads."""
    from tests.bench.measure import bare_connection, percentile

    lock = threading.Lock()
    floor_plan = _plan(ids)
    floor_latencies: list[list[float]] = [[] for _ in range(THREADS)]
    floor_outcomes = {"redeemed": 0, "refused": 0}

    def floor(i: int) -> None:
        with bare_connection() as own:
            for k, n in enumerate(floor_plan[i]):
                started = time.perf_counter()
                with own.transaction():
                    done = own.execute(
                        "UPDATE campaigns_coupon SET status = 'redeemed', "
                        "redeemed_business_unit_id = %s, redeemed_at = now(), "
                        "redemption_reference = %s, order_amount = 800, discount = 200 "
                        "WHERE code = %s AND status = 'issued'",
                        [prop, f"{run}-{tag}{i}-{k}", code_of(n)],
                    ).rowcount
                floor_latencies[i].append((time.perf_counter() - started) * 1000)
                with lock:
                    floor_outcomes["redeemed" if done else "refused"] += 1

    floor_seconds = _barrier_threads(THREADS, floor)
    floor_flat = [x for per in floor_latencies for x in per]
    floor_redeemed = _one(
        conn,
        "SELECT count(*) FROM campaigns_coupon WHERE id = ANY(%s) AND status = 'redeemed'",
        [ids],
    )
    return {
        "attempts": len(floor_flat),
        "distinct_codes": len(ids),
        "seconds": round(floor_seconds, 2),
        "attempts_per_s": round(len(floor_flat) / floor_seconds, 1),
        "redemptions_per_s": round(floor_outcomes["redeemed"] / floor_seconds, 1),
        "p50_ms": round(percentile(floor_flat, 50), 1),
        "p95_ms": round(percentile(floor_flat, 95), 1),
        "outcomes": floor_outcomes,
        "double_redemptions": floor_outcomes["redeemed"] - floor_redeemed,
        "threads": THREADS,
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


def redemption_figure(conn: Any, units: list[int], run: str) -> dict[str, Any]:
    from django.db import connection

    from campaigns.errors import CouponAlreadyRedeemed, CouponError
    from campaigns.services import redeem_coupon
    from tests.bench.measure import percentile

    rng = random.Random(f"{run}-redeem")
    taken: set[int] = set()
    distinct = max(THREADS, OPS // 2)
    ours_ids = _live_sample(conn, rng, distinct, taken)
    floor_ids = _live_sample(conn, rng, distinct, taken)
    prop = units[1]
    lock = threading.Lock()

    plan = _plan(ours_ids)
    latencies: list[list[float]] = [[] for _ in range(THREADS)]
    outcomes: dict[str, int] = {}

    def service(i: int) -> None:
        try:
            for k, n in enumerate(plan[i]):
                started = time.perf_counter()
                try:
                    redeem_coupon(
                        code=code_of(n),
                        business_unit=prop,
                        reference=f"{run}-s{i}-{k}",
                        order_amount="800",
                    )
                    key = "redeemed"
                except CouponAlreadyRedeemed:
                    key = "coupon_redeemed"
                except CouponError as exc:
                    key = exc.code
                latencies[i].append((time.perf_counter() - started) * 1000)
                with lock:
                    outcomes[key] = outcomes.get(key, 0) + 1
        finally:
            connection.close()

    seconds = _barrier_threads(THREADS, service)
    flat = [x for per in latencies for x in per]
    ours = {
        "attempts": len(flat),
        "distinct_codes": len(ours_ids),
        "seconds": round(seconds, 2),
        "attempts_per_s": round(len(flat) / seconds, 1),
        "redemptions_per_s": round(outcomes.get("redeemed", 0) / seconds, 1),
        "p50_ms": round(percentile(flat, 50), 1),
        "p95_ms": round(percentile(flat, 95), 1),
        "outcomes": outcomes,
        **checked_in_db(conn, ours_ids, outcomes.get("redeemed", 0)),
    }

    floor_stats = floor_figure(conn, floor_ids, prop, run)
    ratio = round(ours["attempts_per_s"] / floor_stats["attempts_per_s"], 3)
    return {
        "what": f"redeem_coupon at PROP of {len(ours_ids):,} live codes of AUTO's templates, "
        f"each sent by two of {THREADS} threads at once (own connections, released by a "
        "barrier); every redemption writes its settlement line and timeline event",
        "product": ours,
        "bare_sql": floor_stats,
        "bare_sql_what": "per attempt one transaction: UPDATE campaigns_coupon SET status = "
        "'redeemed', … WHERE code = %s AND status = 'issued' (row count checked), other live "
        "codes of the same table, each sent by two threads",
        "throughput_vs_floor": ratio,
        "goal": "attempts/s >= 1/3 of the bare-SQL floor, zero double redemptions",
        "goal_met": ratio >= 1 / 3 and ours["double_redemptions"] == 0,
        "threads": THREADS,
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


# --- the run ---------------------------------------------------------------------------------


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.bench.settings"
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("BENCH_DATABASE", _database_name())
    started = time.perf_counter()
    from django.conf import settings

    from tests.bench.run import _create_database

    database = os.environ["BENCH_DATABASE"]
    print(
        f"campaigns bench: {COUPONS:,} coupons, {CUSTOMERS:,} customers in database {database}",
        flush=True,
    )
    settings.DATABASES  # noqa: B018  (starts the embedded server if needed)
    _create_database(database)

    import django

    django.setup()
    from django.core.management import call_command

    print("migrate ...", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    from django.urls import reverse

    reverse("home")  # the URL resolver is built once per process (notifications link pages)

    from tests.bench import generate
    from tests.bench.measure import bare_connection

    only = {k for k in os.environ.get("BENCH_ONLY", "").split(",") if k}
    wanted = [f for f in FIGURES if not only or f in only]
    run = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    with bare_connection() as conn:
        conn.execute(generate._BOOKKEEPING_SQL)
        clock = generate.StepClock(conn)
        units = generate.ensure_units(conn)
        print("data set ...", flush=True)
        gen_started = time.perf_counter()
        changed = load(conn, units, clock)
        changed |= generate._restore_deferred(conn, clock)
        if changed:
            vacuum_started = time.perf_counter()
            for name in COUPON_TABLES:
                conn.execute(f"VACUUM (ANALYZE) {name}")
            clock.record("campaigns: vacuum analyze", time.perf_counter() - vacuum_started)
        data = {
            "database": database,
            "sizes": {"coupons": COUPONS, "customers": CUSTOMERS, "templates": TEMPLATES},
            "rows": rows(conn),
            "generated_this_run": changed,
            "seconds_this_run": round(time.perf_counter() - gen_started, 1),
            "generation_seconds_by_step": clock.totals(),
            "load_average_after_step": clock.load_average,
        }
        data["generation_seconds"] = round(sum(data["generation_seconds_by_step"].values()), 1)
        print(f"  data set ready: {data['rows']}", flush=True)
        if os.environ.get("BENCH_GENERATE_ONLY"):
            return
        figures: dict[str, Any] = {}
        if "campaigns_validation" in wanted:
            print("measuring campaigns_validation ...", flush=True)
            figures["campaigns_validation"] = validation_figure(conn, units, run)
        if "campaigns_bulk_issue" in wanted:
            print("measuring campaigns_bulk_issue ...", flush=True)
            figures["campaigns_bulk_issue"] = bulk_figure(conn, units, run)
        if "campaigns_redemption" in wanted:
            print("measuring campaigns_redemption ...", flush=True)
            figures["campaigns_redemption"] = redemption_figure(conn, units, run)
        if "campaigns_redemption_http" in wanted:
            from tests.bench.campaigns_http import http_redemption_figure

            print("measuring campaigns_redemption_http ...", flush=True)
            figures["campaigns_redemption_http"] = http_redemption_figure(conn, units, run)
        if "campaigns_overview" in wanted:
            from tests.bench.campaigns_overview import overview_figure

            print("measuring campaigns_overview ...", flush=True)
            figures["campaigns_overview"] = overview_figure(conn)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.setdefault("figures", {}).update(figures)
    measured_at = results.setdefault("figures_measured_at", {})
    for key in figures:
        measured_at[key] = now
    results["campaigns"] = {
        **data,
        "measured_at": now,
        "seconds": round(time.perf_counter() - started, 1),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print()
    print(table(results["figures"]))
    print(f"\nwritten {RESULTS} in {time.perf_counter() - started:.0f} s")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def table(figures: dict[str, Any]) -> str:
    lines: list[str] = []
    v = figures.get("campaigns_validation")
    if v:
        lines += [
            "| coupon validation | p50 / p95 / max (ms) | queries | bare SQL p50 / p95 (ms) "
            "| goal p95 <= 20 ms |",
            "|---|---|---|---|---|",
            f"| validate_coupon | {_fmt(v['product']['p50_ms'])} / {_fmt(v['product']['p95_ms'])}"
            f" / {_fmt(v['product']['max_ms'])} | {v['product']['queries']['min']}-"
            f"{v['product']['queries']['max']} | {_fmt(v['bare_sql']['p50_ms'])} / "
            f"{_fmt(v['bare_sql']['p95_ms'])} | {'met' if v['goal_met'] else 'missed'} |",
            "",
        ]
    b = figures.get("campaigns_bulk_issue")
    if b:
        lines += [
            f"| bulk issue of {b['product']['issued']:,} | seconds | coupons/s | ratio |",
            "|---|---|---|---|",
            f"| start_bulk_issue | {_fmt(b['product']['seconds'])} | "
            f"{_fmt(b['product']['coupons_per_s'])} | {b['ratio']}x (goal <= 3x) |",
            f"| bare INSERT … SELECT | {_fmt(b['bare_sql']['seconds'])} | - | 1 |",
            "",
        ]
    r = figures.get("campaigns_redemption")
    if r:
        p, f = r["product"], r["bare_sql"]
        lines += [
            f"| redemption, {r['threads']} connections, each code twice | attempts/s | "
            "redemptions/s | p50 / p95 (ms) | double redemptions |",
            "|---|---|---|---|---|",
            f"| redeem_coupon | {_fmt(p['attempts_per_s'])} | {_fmt(p['redemptions_per_s'])} | "
            f"{_fmt(p['p50_ms'])} / {_fmt(p['p95_ms'])} | {p['double_redemptions']} |",
            f"| bare conditional UPDATE | {_fmt(f['attempts_per_s'])} | "
            f"{_fmt(f['redemptions_per_s'])} | {_fmt(f['p50_ms'])} / {_fmt(f['p95_ms'])} | "
            f"{f['double_redemptions']} |",
            f"| service / floor | {r['throughput_vs_floor']} (goal >= 0.333) | | | |",
            "",
        ]
    h = figures.get("campaigns_redemption_http")
    if h:
        lines += [
            "| redemption over HTTP | attempts/s | redemptions/s | p50 / p95 (ms) "
            "| double redemptions |",
            "|---|---|---|---|---|",
        ]
        for label, x in (("1 client", h["single_client"]), ("16 clients", h["concurrent"])):
            lines.append(
                f"| {label} | {_fmt(x['attempts_per_s'])} | {_fmt(x['redemptions_per_s'])} | "
                f"{_fmt(x['p50_ms'])} / {_fmt(x['p95_ms'])} | {x['double_redemptions']} |"
            )
        f = h["bare_sql"]
        lines.append(
            f"| bare conditional UPDATE | {_fmt(f['attempts_per_s'])} | "
            f"{_fmt(f['redemptions_per_s'])} | {_fmt(f['p50_ms'])} / {_fmt(f['p95_ms'])} | "
            f"{f['double_redemptions']} |"
        )
    o = figures.get("campaigns_overview")
    if o:
        lines += [
            "",
            "| group overview, 12 months | p50 / p95 (ms) |",
            "|---|---|",
            f"| group_overview (rollup) | {_fmt(o['product']['p50_ms'])} / "
            f"{_fmt(o['product']['p95_ms'])} |",
            f"| GET /campaigns/overview/ | {_fmt(o['http']['p50_ms'])} / "
            f"{_fmt(o['http']['p95_ms'])} |",
            f"| bare read of the rollup | {_fmt(o['bare_sql_rollup']['p50_ms'])} / "
            f"{_fmt(o['bare_sql_rollup']['p95_ms'])} |",
            f"| group_overview (live, before) | {_fmt(o['live_before_rollup']['p50_ms'])} / "
            f"{_fmt(o['live_before_rollup']['p95_ms'])} |",
            f"| bare SQL over the coupons | {_fmt(o['bare_sql_coupons']['p50_ms'])} / "
            f"{_fmt(o['bare_sql_coupons']['p95_ms'])} |",
            f"| rollup job: full rebuild {o['rollup_job']['full_rebuild_s']} s, routine "
            f"refresh {o['rollup_job']['routine_refresh_s']} s | |",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
