"""The coupons' benchmark (``python -m tests.bench.campaigns``) at a tiny scale inside
``make test``: its loader (secondary indexes dropped and rebuilt), every figure, in a copy of
this worker's test database, results in a temporary folder."""

from __future__ import annotations

from pathlib import Path

from tests.bench_smoke.test_bench_smoke import bench_database, run_bench

__all__ = ["bench_database"]  # the fixture: a copy of the migrated test database

TINY = {
    "BENCH_COUPONS": "3000",
    "BENCH_COUPON_BULK": "300",
    "BENCH_COUPON_OPS": "64",
    "BENCH_COUPON_THREADS": "4",
    "BENCH_CHUNK": "1000",  # several chunks per stage
    "BENCH_ITERATIONS": "10",
    "BENCH_COUPON_HTTP_SINGLE": "8",
    "BENCH_COUPON_HTTP_OPS": "32",
    "BENCH_HTTP_WORKERS": "1",
    "BENCH_HTTP_THREADS": "4",
}


def test_campaigns_bench_runs_at_a_tiny_scale(bench_database: str, tmp_path: Path) -> None:
    results = run_bench("tests.bench.campaigns", TINY, bench_database, tmp_path)
    figures = results["figures"]
    assert set(figures) == {
        "campaigns_validation",
        "campaigns_bulk_issue",
        "campaigns_redemption",
        "campaigns_redemption_http",
        "campaigns_overview",
    }
    data = results["campaigns"]
    assert data["rows"]["campaigns_coupon"] == 3000
    assert data["rows"]["coupons_by_status"] == {
        "expired": 300,
        "issued": 2100,
        "redeemed": 300,
        "voided": 300,
    }
    steps = data["generation_seconds_by_step"]
    assert {"campaigns: customers", "campaigns: coupons (COPY)"} <= set(steps)
    assert any(step.startswith("build index coupon_customer") for step in steps)
    validation = figures["campaigns_validation"]
    assert validation["product"]["n"] == validation["bare_sql"]["n"] == 10
    assert set(validation["outcomes"]) <= {"valid", "coupon_redeemed"}
    bulk = figures["campaigns_bulk_issue"]
    assert bulk["product"]["issued"] == bulk["coupons_of_the_template"] == 300
    assert bulk["rerun_same_key"]["issued_total"] == 300  # the same key issues nothing more
    redemption = figures["campaigns_redemption"]
    product = redemption["product"]
    assert product["double_redemptions"] == 0 == redemption["bare_sql"]["double_redemptions"]
    assert product["outcomes"]["redeemed"] == product["distinct_codes"] == 32
    assert product["settlement_lines"] == product["timeline_events"] == 32
    http = figures["campaigns_redemption_http"]
    for side, codes in (("single_client", 8), ("concurrent", 16)):
        answered = http[side]
        assert answered["outcomes"] == {"redeemed": codes, "coupon_redeemed": codes}, answered
        assert answered["coupons_redeemed_in_db"] == answered["settlement_lines"] == codes
        assert answered["timeline_events"] == codes and answered["double_redemptions"] == 0
    assert http["bare_sql"]["double_redemptions"] == 0
    overview = figures["campaigns_overview"]
    assert overview["rollup_equals_live"] and overview["product"]["n"] == 20
