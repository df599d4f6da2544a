"""Coupon redemption over HTTP (issue 21): ``POST /api/v1/campaigns/coupons/redeem/`` with a
property-company (PROP) partner key, served by gunicorn as ``http_load`` serves it
(``BENCH_HTTP_WORKERS`` × ``BENCH_HTTP_THREADS``, ``make run``'s worker class), driven by
``http.client`` keep-alive connections from this process.

- one client: ``BENCH_COUPON_HTTP_SINGLE`` live codes, each sent twice in a row (201, then 409
  ``coupon_redeemed``);
- ``THREADS`` (16) clients: ``BENCH_COUPON_HTTP_OPS`` attempts, each live code sent by two
  clients at once (the service figure's plan), released by a barrier;
- every request a new ``Idempotency-Key`` and its own order reference; afterwards the
  database is asked how many coupons were redeemed and how many settlement lines and
  timeline events they have (``checked_in_db``: zero double redemptions);
- beside it, the bare-SQL floor of the same run (``floor_figure``, other codes).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
import uuid
from typing import Any

from tests.bench.campaigns import (
    THREADS,
    _barrier_threads,
    _int,
    _live_sample,
    _plan,
    checked_in_db,
    code_of,
    floor_figure,
)

PATH = "/api/v1/campaigns/coupons/redeem/"
KEY_NAME = "bench_campaigns_http"
SINGLE = _int("BENCH_COUPON_HTTP_SINGLE", 200)  # codes, each twice, one client
HTTP_OPS = _int("BENCH_COUPON_HTTP_OPS", 4000)  # attempts from THREADS clients (two per code)
GOAL_PER_S = 500.0


def _drop_keys() -> None:
    from crm.models import ApiKey, IdempotencyKey

    keys = list(ApiKey.objects.filter(name=KEY_NAME).values_list("pk", flat=True))
    IdempotencyKey.objects.filter(owner__in=[f"api_key:{pk}" for pk in keys]).delete()
    ApiKey.objects.filter(pk__in=keys).delete()


def _key(prop: int) -> str:
    from crm.models import BusinessUnit
    from crm.services import issue_api_key

    _drop_keys()
    return issue_api_key(
        name=KEY_NAME,
        business_unit=BusinessUnit.objects.get(pk=prop),
        scopes=["coupons:read", "coupons:write"],
        rate="1000000/min",
    ).raw_key


def _drive(
    port: int, plans: list[list[tuple[str, str]]], key: str
) -> tuple[float, list[float], dict[str, int], list[str], dict[str, float]]:
    """Each plan on its own keep-alive connection, all released together: the seconds, the
    latencies (ms), the outcomes (``redeemed`` for 201, else the problem's code), up to
    three unexpected answers and the CPU a request cost (``http_load.cpu_per_request``)."""
    from tests.bench.http_load import HOST, cpu_per_request, cpu_snapshot

    lock = threading.Lock()
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    odd: list[str] = []

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            for code, reference in plans[i]:
                body = json.dumps({"code": code, "reference": reference, "order_amount": "800"})
                headers = {
                    "Authorization": f"Api-Key {key}",
                    "Idempotency-Key": str(uuid.uuid4()),
                    "Content-Type": "application/json",
                }
                started = time.perf_counter()
                for attempt in (1, 2):
                    try:
                        conn.request("POST", PATH, body=body.encode(), headers=headers)
                        response = conn.getresponse()
                        raw = response.read()
                        break
                    except (http.client.RemoteDisconnected, ConnectionError):
                        conn.close()  # an idle keep-alive connection closed: reconnect once
                        conn = http.client.HTTPConnection(HOST, port, timeout=60)
                        if attempt == 2:
                            raise
                elapsed = (time.perf_counter() - started) * 1000
                if response.status == 201:
                    outcome = "redeemed"
                else:
                    try:
                        outcome = str(json.loads(raw).get("code"))
                    except ValueError:
                        outcome = f"http_{response.status}"
                with lock:
                    latencies.append(elapsed)
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
                    if outcome not in ("redeemed", "coupon_redeemed") and len(odd) < 3:
                        odd.append(f"{response.status} {raw[:200]!r}")
                if response.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=60)
        finally:
            conn.close()

    before = cpu_snapshot(port)
    seconds = _barrier_threads(len(plans), client)
    return (
        seconds,
        latencies,
        outcomes,
        odd,
        cpu_per_request(before, cpu_snapshot(port), len(latencies)),
    )


def _stats(
    conn: Any,
    ids: list[int],
    clients: int,
    drive: tuple[float, list[float], dict[str, int], list[str], dict[str, float]],
) -> dict[str, Any]:
    from tests.bench.measure import percentile

    seconds, latencies, outcomes, odd, cpu = drive
    return {
        "clients": clients,
        "attempts": len(latencies),
        "distinct_codes": len(ids),
        "seconds": round(seconds, 2),
        "attempts_per_s": round(len(latencies) / seconds, 1),
        "redemptions_per_s": round(outcomes.get("redeemed", 0) / seconds, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "outcomes": outcomes,
        "unexpected": odd,
        "cpu_ms_per_request": cpu,
        **checked_in_db(conn, ids, outcomes.get("redeemed", 0)),
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


def http_redemption_figure(conn: Any, units: list[int], run: str) -> dict[str, Any]:
    from django.conf import settings

    from tests.bench.http_load import HttpConfig, gunicorn

    hc = HttpConfig()
    prop = units[1]
    rng = random.Random(f"{run}-http")
    taken: set[int] = set()
    warm_ids = _live_sample(conn, rng, hc.workers * hc.threads * 2, taken)
    single_ids = _live_sample(conn, rng, SINGLE, taken)
    many_ids = _live_sample(conn, rng, max(THREADS, HTTP_OPS // 2), taken)
    floor_ids = _live_sample(conn, rng, max(THREADS, HTTP_OPS // 2), taken)
    key = _key(prop)

    def refs(ids: list[int], tag: str) -> list[tuple[str, str]]:
        return [(code_of(n), f"{run}-{tag}{k}") for k, n in enumerate(ids)]

    try:
        with gunicorn(hc.workers, hc.threads) as port:
            # warm every worker (imports, first connection), one request per code
            warm, slots = refs(warm_ids, "hw"), hc.workers * hc.threads
            _drive(port, [warm[i::slots] for i in range(slots)], key)
            twice = [pair for pair in refs(single_ids, "hs") for pair in (pair, pair)]
            single_plan = [[(code, f"{ref}-{k % 2}") for k, (code, ref) in enumerate(twice)]]
            single = _stats(conn, single_ids, 1, _drive(port, single_plan, key))
            codes = {n: code_of(n) for n in many_ids}
            many_plan = [
                [(codes[n], f"{run}-hm{i}-{k}") for k, n in enumerate(per)]
                for i, per in enumerate(_plan(many_ids))
            ]
            many = _stats(conn, many_ids, THREADS, _drive(port, many_plan, key))
    finally:
        _drop_keys()
    floor = floor_figure(conn, floor_ids, prop, run, tag="hf")
    ratio = round(many["attempts_per_s"] / floor["attempts_per_s"], 3)
    met = (
        many["attempts_per_s"] >= GOAL_PER_S
        and many["double_redemptions"] == 0
        and single["double_redemptions"] == 0
    )
    return {
        "what": f"POST {PATH} (PROP partner key, a new Idempotency-Key and order reference "
        "each) of live codes of AUTO's templates: one client sending each code twice in a "
        f"row, then {THREADS} clients with each code sent by two clients at once; gunicorn "
        f"{hc.workers} workers x {hc.threads} threads (gthread), DEBUG={settings.DEBUG}",
        "single_client": single,
        "concurrent": many,
        "bare_sql": floor,
        "bare_sql_what": "the service figure's floor in the same run: per attempt one "
        "transaction UPDATE … WHERE code = %s AND status = 'issued', each code by two of "
        f"{THREADS} threads",
        "throughput_vs_floor": ratio,
        "goal": f">= {GOAL_PER_S:.0f} redemption requests/s (attempts/s) from {THREADS} "
        "clients, zero double redemptions",
        "goal_met": met,
        "load_average_1min": round(os.getloadavg()[0], 1),
    }
