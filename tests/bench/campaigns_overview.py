"""The ``campaigns_overview`` figure of the coupons' benchmark (``tests/bench/campaigns.py``):
a group administrator's coupon results overview over the default twelve months, in which
every coupon of the data set falls.

- the rollup job: a full rebuild from every coupon, and a routine refresh (the current and
  previous months);
- ``campaigns.selectors.group_overview`` reading the rollup, and the page over HTTP (the
  Django test client, logged in), p50/p95;
- the same selector computing from the coupons (``live=True``: the two aggregate queries
  the overview ran before the rollup, unchanged);
- beside them, the bare SQL of the core aggregate over the raw coupons and the bare read of
  the rollup (one statement each, psycopg, no Django).
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any

_BARE_COUPONS_SQL = """
SELECT c.business_unit_id, t.currency,
       date_trunc('month', c.issued_at AT TIME ZONE %(tz)s),
       date_trunc('month', c.redeemed_at AT TIME ZONE %(tz)s),
       count(*), count(*) FILTER (WHERE c.status = 'redeemed' AND c.redeemed_at <= %(last)s),
       sum(c.discount) FILTER (WHERE c.status = 'redeemed' AND c.redeemed_at <= %(last)s),
       sum(c.order_amount) FILTER (WHERE c.status = 'redeemed' AND c.redeemed_at <= %(last)s)
FROM campaigns_coupon c JOIN campaigns_coupontemplate t ON t.id = c.template_id
WHERE c.issued_at >= %(first)s AND c.issued_at <= %(last)s
GROUP BY 1, 2, 3, 4
"""
_BARE_ROLLUP_SQL = """
SELECT r.business_unit_id, t.currency, r.issued_month, r.redeemed_month,
       sum(r.issued), sum(r.redeemed), sum(r.discount), sum(r.revenue)
FROM campaigns_couponmonthrollup r JOIN campaigns_coupontemplate t ON t.id = r.template_id
WHERE r.issued_month >= %(start)s AND r.issued_month <= %(end_month)s
  AND (r.redeemed_month IS NULL OR r.redeemed_month <= %(end_month)s)
GROUP BY 1, 2, 3, 4
"""


def _timed(call: Any, runs: int) -> tuple[list[float], Any]:
    times: list[float] = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def overview_figure(conn: Any, runs: int = 20, live_runs: int = 5) -> dict[str, Any]:
    from django.conf import settings
    from django.urls import reverse
    from django.utils import timezone

    from campaigns.selectors.overview import _period
    from campaigns.services import refresh_rollup
    from campaigns.web.overview import _months_back
    from tests.bench.measure import summary
    from tests.bench.scenarios import bench_admin, logged_in_client

    admin = bench_admin()
    this_month = timezone.localdate().replace(day=1)
    start = _months_back(this_month, 11)  # the page's default period: the last 12 months
    end = _months_back(this_month, -1) - timedelta(days=1)
    first, last = _period(start, end)

    def load() -> float:
        return round(os.getloadavg()[0], 1)

    print("  rollup: full rebuild ...", flush=True)
    rebuild = refresh_rollup(full=True)
    rebuild_load = load()
    routine = refresh_rollup()
    routine_load = load()

    from campaigns.selectors import group_overview

    def selector() -> Any:
        return group_overview(user=admin, start=start, end=end)

    selector()  # warm: the user's units and permissions, the plans
    selector_ms, figures = _timed(selector, runs)
    selector_load = load()

    client = logged_in_client(admin)
    url = reverse("campaigns:overview")

    def http() -> Any:
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        return response

    http()
    http_ms, response = _timed(http, runs)
    http_load = load()
    assert "overview-as-of" in response.content.decode()

    params = {"tz": settings.TIME_ZONE, "first": first, "last": last}
    rollup_params = {"start": start, "end_month": end.replace(day=1)}
    bare_rollup_ms, _rows = _timed(
        lambda: conn.execute(_BARE_ROLLUP_SQL, rollup_params).fetchall(), runs
    )
    print("  bare SQL over the coupons and the live overview ...", flush=True)
    bare_ms, bare_rows = _timed(
        lambda: conn.execute(_BARE_COUPONS_SQL, params).fetchall(), live_runs
    )
    bare_load = load()
    live_ms, live = _timed(
        lambda: group_overview(user=admin, start=start, end=end, live=True), live_runs
    )
    live_load = load()
    same = (figures.issued, figures.redeemed, figures.discount, figures.revenue) == (
        live.issued,
        live.redeemed,
        live.discount,
        live.revenue,
    ) and [(p.funder_id, p.redeemer_id, p.redemptions, p.amount) for p in figures.pairs] == [
        (p.funder_id, p.redeemer_id, p.redemptions, p.amount) for p in live.pairs
    ]
    selector_stats = summary(selector_ms)
    http_stats = summary(http_ms)
    cells = conn.execute("SELECT count(*) FROM campaigns_couponmonthrollup").fetchone()[0]
    return {
        "what": f"group administrator's coupon results overview, {start:%Y-%m} to {end:%Y-%m} "
        f"(every coupon of the data set inside): {figures.issued:,} issued, "
        f"{figures.redeemed:,} redeemed, {len(figures.pairs)} pairs",
        "rollup_job": {
            "full_rebuild_s": rebuild["seconds"],
            "full_rebuild_load_1min": rebuild_load,
            "routine_refresh_s": routine["seconds"],
            "routine_refresh_months": routine["months"],
            "routine_refresh_load_1min": routine_load,
            "cells": cells,
        },
        "product": {**selector_stats, "load_average_1min": selector_load},
        "http": {**http_stats, "load_average_1min": http_load},
        "live_before_rollup": {**summary(live_ms), "load_average_1min": live_load},
        "bare_sql_coupons": {**summary(bare_ms), "rows": len(bare_rows), "load_1min": bare_load},
        "bare_sql_rollup": summary(bare_rollup_ms),
        "rollup_equals_live": same,
        "goal": "overview p95 <= 300 ms (selector and HTTP)",
        "goal_met": selector_stats["p95_ms"] <= 300 and http_stats["p95_ms"] <= 300,
        "load_average_1min": load(),
    }
