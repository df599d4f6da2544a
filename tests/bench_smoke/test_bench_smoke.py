"""``make bench`` at a tiny scale inside ``make test``: the benchmark can never break silently.

The whole ``python -m tests.bench.run`` runs in a subprocess, as ``make bench`` runs it: the
generator (on a fresh database, with its secondary indexes dropped and rebuilt), every
scenario including HTTP under load through gunicorn and the database connections under
load. Its database is a copy of this worker's test database on the test server (already
migrated, so no migration runs), dropped afterwards; its results go to a temporary folder,
never to ``tests/bench/results.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from tests.bench.run import server_connection

ROOT = Path(__file__).resolve().parents[2]
COMMITTED_RESULTS = ROOT / "tests" / "bench" / "results.json"
TINY = {
    "BENCH_CUSTOMERS": "300",
    "BENCH_TRANSACTIONS": "3000",
    "BENCH_CHUNK": "120",  # several chunks per stage
    "BENCH_ITERATIONS": "3",
    "BENCH_INGEST_ROWS": "60",
    "BENCH_IMPORT_ROWS": "400",
    "BENCH_IMPORT_DRY_ROWS": "300",
    "BENCH_HTTP_WORKERS": "1",
    "BENCH_HTTP_THREADS": "2",
    "BENCH_HTTP_CLIENTS": "2",
    "BENCH_HTTP_REQUESTS": "4",
    "BENCH_HTTP_SINGLE_REQUESTS": "2",
    "BENCH_HTTP_CONN_REQUESTS": "120",
    "BENCH_HTTP_CONN_WORKERS": "1",
    "BENCH_HTTP_CONN_THREADS": "2",
}


@pytest.fixture
def bench_database(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """A copy of the migrated test database, for the bench subprocess alone; an empty
    database (the bench migrates it) when this session made no test database. pytest-django
    makes one only for a session whose tests use the database: run alone, these tests would
    be connected to the developer's own database, which holds `make run`'s demo data (the
    generator's customers then collide with the demo's)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"crm_bench_smoke_{worker}".lower()
    with django_db_blocker.unblock():
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT current_database()")
            (current,) = cursor.fetchone()
        connections.close_all()  # a template must have no other sessions
    template = current if current == connections["default"].creation._get_test_db_name() else None
    with server_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template is None:
            conn.execute(f'CREATE DATABASE "{name}"')
        else:
            # Connections left by earlier tests' threads or servers in this worker would make
            # the copy fail ("being accessed by other users"): end them first.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [template],
            )
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield name
    with server_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_bench(module: str, tiny: dict[str, str], database: str, tmp_path: Path) -> dict[str, Any]:
    """Run ``python -m <module>`` at the ``tiny`` sizes on ``database``, results in
    ``tmp_path``; fail with its output unless it succeeds; never touch the committed
    figures. Returns the results it wrote."""
    committed = COMMITTED_RESULTS.read_bytes()
    out = tmp_path / "results.json"
    env = {
        **os.environ,
        **tiny,
        "BENCH_DATABASE": database,
        "BENCH_RESULTS": str(out),
        "DEBUG": "true",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("BENCH_ONLY", None)
    proc = subprocess.run(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        # Generous: two HTTP servers (DEBUG on, then as in production) on a shared machine.
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert COMMITTED_RESULTS.read_bytes() == committed  # never the committed figures
    return json.loads(out.read_text())


def test_make_bench_runs_at_a_tiny_scale(bench_database: str, tmp_path: Path) -> None:
    results = run_bench("tests.bench.run", TINY, bench_database, tmp_path)
    assert set(results["figures"]) == {
        "search_phone_fragment",
        "search_name_2_chars",
        "search_name_3_chars",
        "customer_360",
        "list_first_page",
        "list_deep_page",
        "ingestion",
        "file_import",
        "http_under_load",
        "connections_under_load",
        "http_floor",
        "accounts_list",
        "accounts_page",
        "accounts_pipeline",
        "metrics_recompute",
        "metrics_list_by_stage",
        "segment_count",
        "rule_tag_apply",
    }
    rows = results["sizes"]["rows"]
    # 300 master customers, then the accounts' 60 organizations and 300 contact persons.
    assert rows["crm_customer"] == 300 + 60 + 300
    assert results["sizes"]["rows"]["crm_transaction"] == 3000
    steps = results["data_set"]["generation_seconds_by_step"]
    assert {"customers", "identities", "transactions", "timeline"} <= set(steps)
    assert any(step.startswith("build index identity_value_trgm") for step in steps)
    _check_accounts(results, steps)
    _check_metrics(results)
    for key in ("segment_count", "rule_tag_apply"):
        assert results["figures"][key]["same_result"], results["figures"][key]
    assert results["figures"]["segment_count"]["raw_tables"]["n"] >= 3
    http = results["figures"]["http_under_load"]
    for key in ("customer_list", "phone_search", "customer_360_largest", "api_lookup"):
        assert http[key]["concurrent"]["statuses"] == {"200": 4}, http[key]
    assert http["order_push"]["concurrent"]["statuses"] == {"201": 4}
    # The same served as in production (DEBUG=False, manifest static files, a secret key).
    served = http["debug_false"]
    assert "DEBUG=False" in served["server"]
    for key in ("customer_list", "phone_search", "customer_360_largest", "api_lookup"):
        assert served[key]["concurrent"]["statuses"] == {"200": 4}, served[key]
    assert served["order_push"]["concurrent"]["statuses"] == {"201": 4}
    assert http["order_push"]["queries_per_order"]["max"] > 0
    imported = results["figures"]["file_import"]
    assert imported["same_result"], imported
    assert imported["product"]["rows_per_s"] > 0 and imported["service_path"]["rows_per_s"] > 0
    assert imported["dry_run"]["peak_mb"] > 0 and imported["bare_sql"]["rows_per_s"] > 0
    floor = results["figures"]["http_floor"]
    for key, status in (
        ("wsgi", "200"),
        ("django_view", "200"),
        ("api_get", "200"),
        ("api_post_idempotent", "201"),
    ):
        assert floor[key]["concurrent"]["statuses"] == {status: 4}, floor[key]
        assert floor[key]["concurrent"]["cpu_ms_per_request"]["server"] >= 0, floor[key]
    connections_ = results["figures"]["connections_under_load"]
    assert connections_["bounded"]
    assert connections_["requests"]["requests"] == 120
    assert (tmp_path / "explain.txt").exists()


def _check_accounts(results: dict[str, Any], steps: dict[str, float]) -> None:
    """The accounts data set at its tiny size and its three figures beside bare SQL."""
    rows = results["sizes"]["rows"]
    assert (rows["accounts_account"], rows["accounts_contact"]) == (60, 300)
    assert rows["accounts_opportunity"] == 150
    assert rows["accounts_opportunitystagechange"] >= 150
    assert {"accounts: customers", "accounts: contacts", "accounts: opportunities"} <= set(steps)
    assert any(step == "build index accounts_contact_person_acct" for step in steps)
    assert results["accounts"]["sizes"]["accounts"] == 60
    figures = results["figures"]
    page = figures["accounts_page"]
    assert page["contacts"] == 150  # the showcase: half the contacts at this size (500 at full)
    for kind in ("filters_name2", "filters", "uscc", "contact_phone"):
        selector = figures["accounts_list"][kind]["selector"]
        assert selector["ratio_p95"] > 0 and selector["bare_sql"]["p95_ms"] > 0
    assert figures["accounts_list"]["uscc"]["rows_on_page"]["min"] == 1
    assert figures["accounts_list"]["filters_name2"]["rows_on_page"]["min"] >= 1
    assert figures["accounts_pipeline"]["opportunities_in_scope"] > 0
    for f in (page, figures["accounts_pipeline"]):
        assert f["selector"]["ratio_p95"] > 0
    # The screens themselves, through the test client (each call must answer 200).
    for view in [figures["accounts_list"][kind]["view"] for kind in ("filters_name2", "uscc")] + [
        page["view"],
        figures["accounts_pipeline"]["view"],
    ]:
        assert view["product"]["p95_ms"] > 0 and view["ratio_p95"] > 0, view


def _check_metrics(results: dict[str, Any]) -> None:
    """Every master customer got its metrics; both figures beside their bare SQL."""
    recompute = results["figures"]["metrics_recompute"]
    assert recompute["customers"] == results["sizes"]["rows"]["crm_customer"]
    assert 0 < recompute["with_purchase"] <= recompute["customers"]
    assert recompute["ratio_p50"] > 0 and recompute["bare_sql"]["p50_ms"] > 0
    assert sum(recompute["stages"].values()) == recompute["customers"]
    by_stage = results["figures"]["metrics_list_by_stage"]
    assert by_stage["stages"] and by_stage["product"]["queries"]["max"] > 0
    assert by_stage["ratio_p95"] > 0
