"""``make bench``: generate (or reuse) the data set, measure, write ``results.json``.

    make bench                                          # 1M customers, 10M transactions
    BENCH_CUSTOMERS=20000 BENCH_TRANSACTIONS=100000 make bench    # a quick smoke run

The server is the project's (``DATABASE_URL``, or the embedded PostgreSQL when it is unset);
the database is a separate one on it (``crm_bench``, see ``config.py``), created and migrated
here and kept between runs.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# BENCH_RESULTS: write the figures elsewhere (the smoke test in ``make test`` does).
RESULTS = Path(os.environ.get("BENCH_RESULTS") or HERE / "results.json").resolve()
PLANS = RESULTS.with_name("explain.txt")


def server_connection() -> Any:
    """An autocommit connection to the ``postgres`` database of the project's server."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname="postgres",
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        autocommit=True,
    )


def _create_database(name: str) -> None:
    """Create the bench database on the project's server if it is missing."""
    with server_connection() as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            print(f"creating database {name}", flush=True)
            conn.execute(f'CREATE DATABASE "{name}"')


def _server(conn: Any, embedded: bool) -> dict[str, Any]:
    from django.conf import settings

    def show(setting: str) -> str:
        return conn.execute(f"SHOW {setting}").fetchone()[0]

    db = settings.DATABASES["default"]
    return {
        "postgresql": show("server_version"),
        "server": "embedded (pgserver)" if embedded else f"{db['HOST']}:{db.get('PORT') or 5432}",
        "database": db["NAME"],
        "shared_buffers": show("shared_buffers"),
        "work_mem": show("work_mem"),
        "effective_cache_size": show("effective_cache_size"),
        "random_page_cost": show("random_page_cost"),
    }


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}" if value >= 100 else f"{value:,.2f}{unit}"
    return f"{value:,}{unit}"


def _queries(stats: dict[str, Any]) -> str:
    q = stats.get("queries")
    if not q:
        return "-"
    return str(q["min"]) if q["min"] == q["max"] else f"{q['min']}-{q['max']}"


def table(results: dict[str, Any]) -> str:
    """The figures as a Markdown table (printed, and pasted into README.md)."""
    lines = [
        "| benchmark | product p50 / p95 / max (ms) | queries | bare SQL p50 / p95 (ms) "
        "| ratio p50 / p95 |",
        "|---|---|---|---|---|",
    ]
    figures = results["figures"]

    def row(label: str, f: dict[str, Any]) -> None:
        p, b = f["product"], f.get("bare_sql", {})
        lines.append(
            f"| {label} | {_fmt(p['p50_ms'])} / {_fmt(p['p95_ms'])} / {_fmt(p['max_ms'])} "
            f"| {_queries(p)} | {_fmt(b.get('p50_ms'))} / {_fmt(b.get('p95_ms'))} "
            f"| {_fmt(f.get('ratio_p50'))}x / {_fmt(f.get('ratio_p95'))}x |"
        )

    labels = {
        "search_phone_fragment": "search: phone fragment (4 digits)",
        "search_name_2_chars": "search: name, 2 characters",
        "search_name_3_chars": "search: name, 3 characters",
        "list_first_page": "list page 1 (view)",
        "list_deep_page": "list page ~500k deep, keyset (view)",
    }
    for key, label in labels.items():
        if key in figures:
            row(label, figures[key])
    if "customer_360" in figures:
        for size in ("big", "small"):
            f = figures["customer_360"][size]
            row(
                f"360 view, {size} customers ({_fmt(f['transactions']['max'])} tx, "
                f"{_fmt(f['timeline_events']['max'])} events)",
                f,
            )
    if "list_deep_page" in figures:
        f = figures["list_deep_page"]
        o, k = f["offset_bare_sql"], f["keyset_page_query_bare_sql"]
        lines.append(
            f"| same depth, bare SQL: OFFSET {f['depth']:,} vs keyset page query | "
            f"{_fmt(o['p50_ms'])} / {_fmt(o['p95_ms'])} / {_fmt(o['max_ms'])} | 1 | "
            f"{_fmt(k['p50_ms'])} / {_fmt(k['p95_ms'])} | "
            f"OFFSET is {_fmt(f['offset_vs_keyset_bare_p50'])}x keyset |"
        )
    if "ingestion" in figures:
        f = figures["ingestion"]
        dry = f.get("dry_run") or f["validation_only"]  # the key of results before 2026-12-07
        lines += [
            "",
            "| ingestion of {:,} transactions | seconds | rows/s | ratio |".format(f["rows"]),
            "|---|---|---|---|",
            f"| services.ingest_transactions (batches of 1000, {f['product']['queries']} "
            f"queries) | {_fmt(f['product']['seconds'])} | {_fmt(f['product']['rows_per_s'])} "
            "| 1 |",
            f"| dry run of the same rows (the real path, rolled back) | {_fmt(dry['seconds'])} | "
            f"{_fmt(dry['rows_per_s'])} | - |",
            f"| bare SQL: COPY FROM STDIN | {_fmt(f['bare_sql']['seconds'])} | "
            f"{_fmt(f['bare_sql']['rows_per_s'])} | COPY is {_fmt(f['ratio'])}x faster |",
            f"| bare SQL: INSERT ... unnest, 1000 a statement | "
            f"{_fmt(f['bare_sql_batched_insert']['seconds'])} | "
            f"{_fmt(f['bare_sql_batched_insert']['rows_per_s'])} | "
            f"{_fmt(f['ratio_vs_batched_insert'])}x faster |",
        ]
        after = f["search_after_ingestion"]
        lines += [
            "",
            "| search p50 / p95 (ms), product | right after ingestion (GIN pending lists) "
            "| after gin_clean_pending_list |",
            "|---|---|---|",
        ]
        for kind, label in (
            ("phone", "phone fragment"),
            ("name2", "name, 2 chars"),
            ("name3", "name, 3 chars"),
        ):
            a, b = after["with_pending_lists"][kind], after["after_merge"][kind]
            lines.append(
                f"| {label} | {_fmt(a['p50_ms'])} / {_fmt(a['p95_ms'])} "
                f"| {_fmt(b['p50_ms'])} / {_fmt(b['p95_ms'])} |"
            )
        lines += ["", "database seconds by statement in ingest_transactions:"]
        lines += [
            f"  {key}: {v['seconds']} s in {v['statements']} statements"
            for key, v in f["db_seconds_by_statement"].items()
        ]
    return "\n".join(lines)


def file_import_table(results: dict[str, Any]) -> str:
    """The file import: the bulk path and the service path next to bare COPY of the file."""
    f = results["figures"].get("file_import")
    if not f:
        return ""
    bulk, service, copy, dry = f["product"], f["service_path"], f["bare_sql"], f["dry_run"]
    return "\n".join(
        [
            f"| import of a line-level CSV, {f['rows']:,} rows | seconds | rows/s | peak MB "
            "| COPY is |",
            "|---|---|---|---|---|",
            f"| import_transactions, bulk path | {_fmt(bulk['seconds'])} "
            f"| {_fmt(bulk['rows_per_s'])} | {_fmt(bulk['peak_mb'])} | {_fmt(f['ratio'])}x |",
            f"| import_transactions --path service | {_fmt(service['seconds'])} "
            f"| {_fmt(service['rows_per_s'])} | {_fmt(service['peak_mb'])} "
            f"| {_fmt(f['ratio_service'])}x |",
            f"| bare SQL: COPY of the file | {_fmt(copy['seconds'])} "
            f"| {_fmt(copy['rows_per_s'])} | - | 1 |",
            f"| web job's dry run, {dry['rows']:,} rows | {_fmt(dry['seconds'])} "
            f"| {_fmt(dry.get('rows_per_s'))} | {_fmt(dry['peak_mb'])} | - |",
            "",
            f"same result through both paths: {f['same_result']}; bulk is "
            f"{_fmt(f['bulk_vs_service'])}x the service path",
        ]
    )


def http_table(results: dict[str, Any]) -> str:
    """The HTTP figures: one client beside 16 at once."""
    figures = results["figures"]
    f = figures.get("http_under_load")
    lines: list[str] = []
    if f:
        n = f["clients"]
        for served in (f, f.get("debug_false")):
            if served:
                lines += _http_rows(served, n)
    c = figures.get("connections_under_load")
    if c:
        k, r = c["connections"], c["requests"]
        lines += [
            "",
            f"Database connections, {r['requests']:,} requests ({r['req_per_s']} req/s) through "
            f"make run's gunicorn: before {k['before_server']}, server started "
            f"{k['server_started']}, peak {k['peak_under_load']}, after the load "
            f"{k['after_load']}, server stopped {k['after_server_stopped']} (bound: before + "
            f"{k['bound_workers_x_threads']}; max_connections {k['max_connections']})",
        ]
    return "\n".join(lines)


def _http_rows(f: dict[str, Any], n: int) -> list[str]:
    lines = [
        f"HTTP under load: {f['server']}",
        "",
        f"| request | 1 client: req/s, p50 / p95 / p99 (ms) | {n} clients: req/s, "
        "p50 / p95 / p99 (ms) |",
        "|---|---|---|",
    ]
    labels = {
        "customer_list": "customer list `/customers/`",
        "phone_search": "phone search `/customers/?q=1354` (4-digit prefixes)",
        "customer_360_largest": "360 view, largest history",
        "api_lookup": "API lookup `GET /api/v1/customers/?mobile=`",
        "order_push": "API order push `POST /api/v1/transactions/`",
    }
    for key, label in labels.items():
        if key not in f:
            continue
        one, many = f[key]["single_client"], f[key]["concurrent"]
        if key == "order_push" and f[key].get("queries_per_order"):
            q = f[key]["queries_per_order"]
            label += f" ({q.get('min')}-{q.get('max')} queries per order)"
        lines.append(
            f"| {label} | {_fmt(one['req_per_s'])}, {_fmt(one['p50_ms'])} / "
            f"{_fmt(one['p95_ms'])} / {_fmt(one['p99_ms'])} | {_fmt(many['req_per_s'])}, "
            f"{_fmt(many['p50_ms'])} / {_fmt(many['p95_ms'])} / {_fmt(many['p99_ms'])} |"
        )
    return [*lines, ""]


ACCOUNT_FIGURES = {"accounts_list", "accounts_page", "accounts_pipeline"}


def _accounts_data_set(cfg: Any, data: dict[str, Any], now: str) -> dict[str, Any]:
    """Sizes and generation seconds of the accounts data set (issue 17)."""
    steps = data["generation_seconds_by_step"]
    own = {
        step: seconds
        for step, seconds in steps.items()
        if step.startswith("accounts") or " accounts_" in step
    }
    return {
        "measured_at": now,
        "database": cfg.database,
        "sizes": {
            "accounts": cfg.accounts,
            "contacts": cfg.contacts,
            "opportunities": cfg.opportunities,
            "master_customers": cfg.customers,
            "master_transactions": cfg.transactions,
        },
        "rows": {t: n for t, n in data["rows"].items() if t.startswith(("accounts_", "crm_cu"))},
        "generation_seconds_by_step": own,
        "generation_seconds": round(sum(own.values()), 1),
        "note": "Steps on the accounts' own tables; the customer master's index builds "
        "(crm_customer, crm_identity) after the load are shared with the master's stages.",
    }


def accounts_table(figures: dict[str, Any]) -> str:
    from tests.bench import accounts

    return accounts.table(figures)


def main() -> None:
    embedded = not os.environ.get("DATABASE_URL")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.bench.settings"
    os.environ.setdefault("DEBUG", "true")

    from tests.bench import config

    cfg = config.load()
    started = time.perf_counter()
    print(
        f"bench: {cfg.customers:,} customers, {cfg.transactions:,} transactions "
        f"in database {cfg.database}",
        flush=True,
    )
    from django.conf import settings

    settings.DATABASES  # noqa: B018  (imports the settings: starts the embedded server if needed)
    _create_database(cfg.database)

    import django

    django.setup()
    from django.core.management import call_command

    print("migrate ...", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    # The cache table is made by a migration only when the database is the cache backend of
    # the settings it ran under (not so for a copy of the test database): make sure of it.
    call_command("createcachetable", verbosity=0)

    from tests.bench import generate, scenarios
    from tests.bench.measure import bare_connection

    with bare_connection() as conn:
        print("data set ...", flush=True)
        scenarios.cleanup_ingestion(conn)
        lay, data = generate.generate(conn, cfg)
        merged = scenarios.flush_gin_pending_lists(conn)
        if merged:
            print(f"  merged {merged} GIN pending-list pages left by an earlier run", flush=True)
        ctx = scenarios.Context(cfg, lay, conn)
        print("measuring ...", flush=True)
        figures = scenarios.run_all(ctx)
        server = _server(conn, embedded)

    results = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            **server,
        },
        "sizes": {
            "customers": cfg.customers,
            "transactions": cfg.transactions,
            "iterations": cfg.iterations,
            "ingest_rows": cfg.ingest_rows,
            "accounts": cfg.accounts,
            "contacts": cfg.contacts,
            "opportunities": cfg.opportunities,
            "rows": data["rows"],
        },
        "data_set": {
            "generated_this_run": data["generated"],
            "seconds": data["seconds"],
            "generation_seconds": data["generation_seconds"],
            "generation_seconds_by_step": data["generation_seconds_by_step"],
            "steps_this_run": data["steps_this_run"],
            "load_average_after_step": data["load_average_after_step"],
            "notes": [
                "USCC identities of organizations are unique but NOT check-digit valid.",
                "Transactions per customer: rank = floor(N * random()^2), so the top customer "
                "has ~1/sqrt(N) of all transactions and the median a handful; 2% guests.",
            ],
        },
        "figures": figures,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if any(key in ACCOUNT_FIGURES for key in figures):
        results["accounts"] = _accounts_data_set(cfg, data, results["generated_at"])
    if figures and set(figures) <= ACCOUNT_FIGURES and RESULTS.exists():
        # The accounts figures alone (BENCH_ONLY=accounts_list,...): they have their own data
        # set (results["accounts"]), possibly on a smaller master; every other figure stays.
        previous = json.loads(RESULTS.read_text())
        previous.setdefault("figures", {}).update(figures)
        measured_at = previous.setdefault("figures_measured_at", {})
        for key in figures:
            measured_at[key] = results["generated_at"]
        previous["accounts"] = results["accounts"]
        results = previous
    elif os.environ.get("BENCH_ONLY"):
        # Re-measuring some figures keeps the others of the same data set.
        previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        if previous.get("sizes", {}).get("customers") == cfg.customers and previous.get(
            "sizes", {}
        ).get("transactions") == (cfg.transactions):
            measured_at = previous.get("figures_measured_at", {})
            for key in figures:
                measured_at[key] = results["generated_at"]
            results["figures"] = {**previous.get("figures", {}), **figures}
            results["figures_measured_at"] = measured_at
            if not data["generated"]:
                results["data_set"] = previous.get("data_set", results["data_set"])
        results["partial"] = os.environ["BENCH_ONLY"]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    if ctx.plans or not os.environ.get("BENCH_ONLY"):  # the HTTP figures have no plans
        PLANS.write_text(
            "\n\n".join(f"== {label}\n{text}" for label, text in ctx.plans) + "\n",
            encoding="utf-8",
        )
    account_plans = getattr(ctx, "account_plans", [])
    if account_plans:
        RESULTS.with_name("explain_accounts.txt").write_text(
            "\n\n".join(f"== {label}\n{text}" for label, text in account_plans) + "\n",
            encoding="utf-8",
        )
    print()
    print(table(results))
    print()
    print(file_import_table(results))
    print()
    print(http_table(results))
    print()
    print(accounts_table(results["figures"]))
    print(f"\nwritten {RESULTS} and {PLANS} in {results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
