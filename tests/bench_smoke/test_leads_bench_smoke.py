"""The lead pools' benchmark (``python -m tests.bench.leads``) at a tiny scale inside
``make test``: its generator (secondary indexes dropped and rebuilt), every figure including
claim-next over HTTP through gunicorn, in a copy of this worker's test database, results in a
temporary folder."""

from __future__ import annotations

from pathlib import Path

from tests.bench_smoke.test_bench_smoke import bench_database, run_bench

__all__ = ["bench_database"]  # the fixture: a copy of the migrated test database

TINY = {
    "BENCH_LEADS": "3000",
    "BENCH_LEAD_REPS": "8",
    "BENCH_CHUNK": "1000",  # several chunks per stage
    "BENCH_ITERATIONS": "4",
    "BENCH_LEAD_CLAIMS": "20",
    "BENCH_HTTP_WORKERS": "1",
    "BENCH_HTTP_THREADS": "2",
    "BENCH_HTTP_CLIENTS": "2",
    "BENCH_HTTP_REQUESTS": "4",
    "BENCH_HTTP_SINGLE_REQUESTS": "2",
}


def test_leads_bench_runs_at_a_tiny_scale(bench_database: str, tmp_path: Path) -> None:
    results = run_bench("tests.bench.leads", TINY, bench_database, tmp_path)
    figures = results["figures"]
    assert set(figures) == {
        "leads_pool_list",
        "leads_my_leads",
        "leads_claim_next",
        "leads_claim_http",
        "leads_recycle",
    }
    data = results["leads"]
    rows = data["rows"]
    assert rows["leads_lead"] == 3000 and rows["crm_customer"] == 150
    by_status = rows["leads_by_status"]
    assert by_status["new"] == 1440 and by_status["quarantined"] == 60
    assert by_status["converted"] == 661 and by_status["lost"] == 749
    assert by_status["assigned"] + by_status["contacted"] + by_status["qualified"] == 90
    steps = data["generation_seconds_by_step"]
    assert {"leads: leads", "leads: events", "leads: follow-ups"} <= set(steps)
    assert any(step.startswith("build index leads_pool_waiting") for step in steps)
    assert any(step.startswith("build index leads_name_grams") for step in steps)
    for key in ("leads_pool_list", "leads_my_leads"):
        assert figures[key]["view"]["product"]["n"] == figures[key]["view"]["bare_sql"]["n"] == 4
        assert figures[key]["selector"]["product"]["n"] == 4
        search = figures[key]["search_view"]  # q: 2- and 3-character fragments of names
        assert search["product"]["n"] == search["bare_sql"]["n"] == 4
        assert figures[key]["search_selector"]["product"]["n"] == 4
    claims = figures["leads_claim_next"]
    assert claims["product"]["claims"] == claims["bare_sql"]["claims"] == 20
    assert claims["product"]["violations"] == {
        "claimed_twice": 0,
        "reps_over_hold_limit": 0,
        "claims_without_history": 0,
    }
    assert claims["bare_sql"]["claimed_twice"] == 0
    http = figures["leads_claim_http"]
    assert set(http["concurrent"]["statuses"]) == {"200"}
    assert http["claims"]["total"] == 6 and not any(http["violations"].values())
    served = http["debug_false"]  # the same served as in production (DEBUG=False)
    assert set(served["concurrent"]["statuses"]) == {"200"}
    assert served["claims"]["total"] == 6 and not any(served["violations"].values())
    recycle = figures["leads_recycle"]
    assert recycle["product"]["counts"] == recycle["bare_sql"]["counts"]
    assert recycle["product"]["counts"]["recycled"] > 0
    assert recycle["second_run"]["counts"] == {"recycled": 0, "warned": 0, "moved": 0}
    # Everything the figures did is undone: the data set is as generated.
    assert data["unchanged_after_run"] is True
