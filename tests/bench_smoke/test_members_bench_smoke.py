"""The members' benchmark (``python -m tests.bench.members``) at a tiny scale inside
``make test``: its generator (secondary indexes dropped and rebuilt), every figure including
earn/redeem over HTTP through gunicorn, in a copy of this worker's test database, results in
a temporary folder."""

from __future__ import annotations

from pathlib import Path

from tests.bench_smoke.test_bench_smoke import bench_database, run_bench

__all__ = ["bench_database"]  # the fixture: a copy of the migrated test database

TINY = {
    "BENCH_MEMBERS": "300",
    "BENCH_MEMBER_LOTS": "1500",
    "BENCH_CHUNK": "120",  # several chunks per stage
    "BENCH_ITERATIONS": "3",
    "BENCH_MEMBER_OPS": "32",
    "BENCH_HTTP_WORKERS": "1",
    "BENCH_HTTP_THREADS": "2",
    "BENCH_HTTP_CLIENTS": "2",
    "BENCH_HTTP_REQUESTS": "4",
    "BENCH_HTTP_SINGLE_REQUESTS": "2",
}


def test_members_bench_runs_at_a_tiny_scale(bench_database: str, tmp_path: Path) -> None:
    results = run_bench("tests.bench.members", TINY, bench_database, tmp_path)
    figures = results["figures"]
    assert set(figures) == {"members_points", "members_http", "members_search", "members_expiry"}
    data = results["members"]
    assert data["rows"]["members_member"] == 300 and data["rows"]["members_pointslot"] >= 1500
    steps = data["generation_seconds_by_step"]
    assert {"members: customers", "members: members", "members: lots"} <= set(steps)
    assert any(step.startswith("build index points_lot_due") for step in steps)
    points = figures["members_points"]
    assert points["product"]["invariant_violations"] == 0
    assert points["product"]["ops"] == points["bare_sql"]["ops"] == 32
    assert points["bare_sql"]["ops_per_s"] > 0
    http = figures["members_http"]
    assert set(http["concurrent"]["statuses"]) <= {"200", "201"}
    search = figures["members_search"]
    assert search["phone_fragment"]["product"]["n"] == 3
    assert search["name_2_chars"]["bare_sql"]["n"] == 3
    expiry = figures["members_expiry"]
    assert expiry["product"]["counts"]["lots"] > 0
    assert expiry["second_run"]["counts"]["lots"] == 0
