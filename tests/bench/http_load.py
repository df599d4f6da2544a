"""HTTP under load: gunicorn serving the bench database, driven by a small client of our own.

The client is the standard library only: ``http.client`` keep-alive connections, one per
client thread, only to 127.0.0.1. Every loop is bounded by a number of requests. Each page or
API call is measured with one client and with ``BENCH_HTTP_CLIENTS`` (16) at once against
``BENCH_HTTP_WORKERS`` (4) gunicorn workers of ``BENCH_HTTP_THREADS`` threads, the worker
class ``make run`` uses. A second figure serves ``BENCH_HTTP_CONN_REQUESTS`` (50,000)
requests with ``make run``'s own gunicorn command and samples ``pg_stat_activity`` meanwhile:
the number of database connections must stay bounded (runserver leaked one per thread).

Each HTTP figure is measured twice in the same run: with ``DEBUG=True`` (``make run``'s
setting, every cursor wrapped in Django's query log; the figures' top level, comparable with
the earlier runs) and served as in production (``DEBUG=False``: a secret key, the manifest
static storage after ``collectstatic``, no query log; under ``debug_false``). The goals are
judged on the production figures. ``BENCH_HTTP_PRODUCTION=0`` skips the second.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from crm import services
from crm.management.commands.runall import WEB_THREADS, WEB_WORKERS, gunicorn_command
from crm.models import ApiKey, BusinessUnit, IdempotencyKey
from tests.bench.generate import PREFIXES
from tests.bench.measure import bare_connection, percentile, rows

HOST = "127.0.0.1"
HTTP_SOURCE = "bench_http"
KEY_NAME = "bench_http"
SERVER_PIDS: dict[int, int] = {}  # port -> gunicorn's master process, while it serves


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, "").replace("_", "") or default)


@dataclass(frozen=True)
class HttpConfig:
    workers: int = _int("BENCH_HTTP_WORKERS", 4)
    threads: int = _int("BENCH_HTTP_THREADS", 4)
    clients: int = _int("BENCH_HTTP_CLIENTS", 16)
    requests: int = _int("BENCH_HTTP_REQUESTS", 800)  # per concurrent measurement
    single_requests: int = _int("BENCH_HTTP_SINGLE_REQUESTS", 200)
    conn_requests: int = _int("BENCH_HTTP_CONN_REQUESTS", 50_000)
    # The connection figure serves with make run's own gunicorn (3 x 4) unless told otherwise.
    conn_workers: int = _int("BENCH_HTTP_CONN_WORKERS", WEB_WORKERS)
    conn_threads: int = _int("BENCH_HTTP_CONN_THREADS", WEB_THREADS)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


# --- CPU per request ----------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _children_cpu(parent: int) -> dict[int, float]:
    """CPU seconds so far of each child process of ``parent``."""
    found: dict[int, float] = {}
    for pid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        try:
            found[int(pid)] = _cpu_seconds(int(pid))
        except (FileNotFoundError, ProcessLookupError):
            continue  # a process that ended meanwhile
    return found


_postmasters: dict[str, int | None] = {}


def _postmaster() -> int | None:
    """The bench server's postmaster (the parent of a backend of ours), or None when the
    server runs on another machine or its processes cannot be read."""
    database = str(settings.DATABASES["default"]["NAME"])
    if database not in _postmasters:
        found: int | None = None
        with bare_connection() as conn:
            (backend,) = conn.execute("SELECT pg_backend_pid()").fetchone() or (0,)
        try:
            status = Path(f"/proc/{backend}/status").read_text()
            found = next(int(x.split()[1]) for x in status.splitlines() if x.startswith("PPid:"))
        except (FileNotFoundError, PermissionError, StopIteration):
            found = None
        _postmasters[database] = found
    return _postmasters[database]


Snapshot = tuple[dict[int, float], dict[int, float], float]


def cpu_snapshot(port: int) -> Snapshot:
    """CPU seconds so far, per process, of the gunicorn workers serving ``port`` and of the
    bench server's PostgreSQL processes (backends and background workers, not the machine's
    other servers), and of this process (the client threads)."""
    master = SERVER_PIDS.get(port)
    postmaster = _postmaster()
    server = _children_cpu(master) if master else {}
    postgres: dict[int, float] = {}
    if postmaster:
        postgres = {postmaster: _cpu_seconds(postmaster), **_children_cpu(postmaster)}
    return server, postgres, time.process_time()


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two snapshots by the processes alive at the second (a process that
    ended meanwhile, such as a backend whose connection closed, is left out: never below
    zero, at worst a little under)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def cpu_per_request(before: Snapshot, after: Snapshot, requests: int) -> dict[str, float]:
    """Milliseconds of CPU a request cost each side: holds on a shared machine, where the
    wall-clock figures measure the other engineers' work too."""
    n = max(requests, 1)
    return {
        "server": round(1000 * _spent(before[0], after[0]) / n, 3),
        "postgres": round(1000 * _spent(before[1], after[1]) / n, 3),
        "client": round(1000 * (after[2] - before[2]) / n, 3),
    }


# --- The server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def production_wanted() -> bool:
    return os.environ.get("BENCH_HTTP_PRODUCTION", "1").lower() not in ("0", "false", "no")


def production_env() -> dict[str, str]:
    """What a production server is given (``crm/settings.py``), on this machine: plain HTTP
    on 127.0.0.1 (TLS ends at the proxy in production, so no redirect to HTTPS and no proxy
    in front to trust), the same database and broker as the ``DEBUG=True`` server."""
    return {
        "DEBUG": "false",
        # The key this process signs the benchmark's sessions with (session data and the
        # session's password hash are signed with it).
        "SECRET_KEY": settings.SECRET_KEY,
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL") or "filesystem://",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "TRUSTED_PROXY_COUNT": "0",
    }


def collect_static(env: dict[str, str]) -> None:
    """The manifest the production static storage reads (into the bench's own STATIC_ROOT)."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity=0"],
        env=env,
        cwd=settings.BASE_DIR,
        check=True,
    )


def server_env(*, debug: bool) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.bench.settings"}
    if not debug:
        env.update(production_env())
    return env


@contextmanager
def gunicorn(
    workers: int,
    threads: int,
    *,
    debug: bool = True,
    app: str = "crm.wsgi:application",
    extra_env: dict[str, str] | None = None,
) -> Iterator[int]:
    """gunicorn (``make run``'s command) on the bench database; yields its port. With
    ``debug=False`` it serves as in production (``production_env``, static files collected).
    The server's process id is ``SERVER_PIDS[port]`` while it runs."""
    port = free_port()
    env = {**server_env(debug=debug), **(extra_env or {})}
    if not debug:
        collect_static(env)
    command = gunicorn_command(
        f"{HOST}:{port}",
        workers=workers,
        threads=threads,
        access_log=False,
        log_level="warning",
        app=app,
    )
    proc = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)
    SERVER_PIDS[port] = proc.pid
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with code {proc.returncode}")
            status = None
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=5)
                conn.request("GET", "/login/")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                # An answer other than 200 (a settings error as production runs it) fails too.
                raise SystemExit(f"gunicorn did not answer 200 within 120 s (last: {status})")
            time.sleep(0.2)
        yield port
    finally:
        SERVER_PIDS.pop(port, None)
        proc.send_signal(signal.SIGINT)  # quick shutdown: the measured load is over
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- The client --------------------------------------------------------------------------


def load(
    port: int, make: Callable[[int], Request], count: int, clients: int, *, offset: int = 0
) -> dict[str, Any]:
    """Send ``count`` requests (``make(i)``) from ``clients`` threads; latency statistics."""
    lock = threading.Lock()
    counter = iter(range(offset, offset + count))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    failures: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                req = make(i)
                started = time.perf_counter()
                for attempt in (1, 2):
                    try:
                        conn.request(req.method, req.path, body=req.body, headers=req.headers)
                        response = conn.getresponse()
                        response.read()
                        break
                    except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                        # The server closed an idle keep-alive connection: reconnect once.
                        conn.close()
                        conn = http.client.HTTPConnection(HOST, port, timeout=60)
                        if attempt == 2:
                            raise
                elapsed = (time.perf_counter() - started) * 1000
                if response.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=60)
                with lock:
                    latencies.append(elapsed)
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    if response.status >= 400 and len(failures) < 3:
                        failures.append(f"{req.method} {req.path} -> {response.status}")
        finally:
            conn.close()

    cpu_before = cpu_snapshot(port)
    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    cpu = cpu_per_request(cpu_before, cpu_snapshot(port), len(latencies))
    errors = sum(n for status, n in statuses.items() if status >= 400)
    if errors:
        raise SystemExit(f"{errors} of {count} requests failed: {failures}")
    return {
        "clients": clients,
        "requests": len(latencies),
        "seconds": round(seconds, 2),
        "req_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
        "mean_ms": round(sum(latencies) / len(latencies), 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "cpu_ms_per_request": cpu,
        # The machine is shared: figures under a load average of 10 are not idle figures.
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


# --- What is requested -------------------------------------------------------------------


def _session_cookie(ctx: Any) -> str:
    """The bench admin's session, as a browser would send it."""
    client = Client()
    client.force_login(ctx.user, backend="crm.auth_backends.CrmModelBackend")
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _api_key() -> str:
    """A fresh key of the AUTO unit with a rate the load never reaches."""
    _drop_api_keys()
    issued = services.issue_api_key(
        name=KEY_NAME,
        business_unit=BusinessUnit.objects.get(code="AUTO"),
        scopes=["business_units:read", "customers:read", "transactions:write"],
        rate="1000000/min",
    )
    return issued.raw_key


def _drop_api_keys() -> None:
    keys = list(ApiKey.objects.filter(name=KEY_NAME).values_list("pk", flat=True))
    IdempotencyKey.objects.filter(owner__in=[f"api_key:{pk}" for pk in keys]).delete()
    ApiKey.objects.filter(pk__in=keys).delete()


def _mobiles(ctx: Any, n: int) -> list[str]:
    rng = random.Random(f"{ctx.cfg.seed}-http-mobiles")
    sample = rng.sample(range(1, ctx.cfg.customers + 1), min(ctx.cfg.customers, n * 2))
    found = rows(
        ctx.conn,
        "SELECT value FROM crm_identity WHERE type = 'mobile' AND customer_id = ANY(%s) "
        "ORDER BY customer_id",
        [sample],
    )
    return [r[0].removeprefix("+86") for r in found][:n]


def _order(run: str, i: int, phones: list[str], key: str) -> Request:
    rng = random.Random(i)
    phone = phones[i % len(phones)] if rng.random() < 0.8 else f"199{rng.randrange(10**8):08d}"
    body = {
        "source": HTTP_SOURCE,
        "external_id": f"{run}-{i:07d}",
        "occurred_at": datetime.now(UTC).isoformat(),
        "amount": f"{rng.randrange(100, 100_000) / 100:.2f}",
        "channel": "store",
        "customer": {"identities": [{"type": "mobile", "value": phone}]},
    }
    return Request(
        "POST",
        "/api/v1/transactions/",
        {
            "Authorization": f"Api-Key {key}",
            "Idempotency-Key": str(uuid.uuid4()),
            "Content-Type": "application/json",
        },
        json.dumps(body).encode(),
    )


def _queries_per_order(run: str, phones: list[str], key: str, n: int) -> dict[str, Any]:
    """Statements per pushed order, counted in-process through the same view."""
    client, counts = Client(), []
    for i in range(n):
        req = _order(f"{run}-q", i, phones, key)
        headers = {k: v for k, v in req.headers.items() if k != "Content-Type"}
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                req.path, data=req.body, content_type="application/json", headers=headers
            )
        if response.status_code != 201:
            raise SystemExit(f"order push answered {response.status_code}: {response.content!r}")
        counts.append(len(captured.captured_queries))
    return {"min": min(counts), "max": max(counts), "orders": n}


def cleanup(conn: psycopg.Connection) -> None:
    """Remove the orders (and the customers they created) the push scenario wrote."""
    created = "SELECT id FROM crm_customer WHERE source = %s"
    with conn.transaction():
        conn.execute("DELETE FROM crm_transaction WHERE source = %s", [HTTP_SOURCE])
        # the audited reveals of the phone search may name customers the push created
        for table in ("crm_piiaccess", "crm_timelineevent", "crm_identity"):
            conn.execute(f"DELETE FROM {table} WHERE customer_id IN ({created})", [HTTP_SOURCE])
        conn.execute("DELETE FROM crm_customer WHERE source = %s", [HTTP_SOURCE])
    _drop_api_keys()


def http_under_load(ctx: Any) -> dict[str, Any]:
    hc = HttpConfig()
    cleanup(ctx.conn)
    cookie = {"Cookie": _session_cookie(ctx)}
    key = _api_key()
    api = {"Authorization": f"Api-Key {key}"}
    rng = random.Random(f"{ctx.cfg.seed}-http")
    prefixes = [p + d for p in PREFIXES for d in "0123456789"]
    searches = [rng.choice(prefixes) for _ in range(257)]
    top = ctx.lay.big_customers[0]
    phones = _mobiles(ctx, 500)
    run = f"H{int(time.time())}"
    scenarios: dict[str, tuple[str, Callable[[int], Request]]] = {
        "customer_list": (
            "GET /customers/ (page 1) as the bench admin",
            lambda i: Request("GET", "/customers/", cookie),
        ),
        "phone_search": (
            "GET /customers/?q=<4-digit mobile prefix such as 1354> as the bench admin",
            lambda i: Request("GET", "/customers/?" + urlencode({"q": searches[i % 257]}), cookie),
        ),
        "customer_360_largest": (
            f"GET /customers/{top}/ (the largest history) as the bench admin",
            lambda i: Request("GET", f"/customers/{top}/", cookie),
        ),
        "api_lookup": (
            "GET /api/v1/customers/?mobile=<a known mobile> with an API key",
            lambda i: Request(
                "GET", "/api/v1/customers/?" + urlencode({"mobile": phones[i % len(phones)]}), api
            ),
        ),
        "order_push": (
            "POST /api/v1/transactions/ with an API key and Idempotency-Key, a new order each "
            "(80 % known mobiles, 20 % new customers)",
            lambda i: _order(run, i, phones, key),
        ),
    }
    # BENCH_HTTP_SCENARIOS=customer_360_largest,...: only those rows (BENCH_HTTP_ROUTES: the
    # same); the figure then holds only them: merge it by hand into results.json.
    chosen = os.environ.get("BENCH_HTTP_SCENARIOS") or os.environ.get("BENCH_HTTP_ROUTES", "")
    wanted = {k for k in chosen.replace(" ", "").split(",") if k}
    if wanted:  # a subset, e.g. the API rows alone on a saturated machine
        scenarios = {k: v for k, v in scenarios.items() if k in wanted}
    figures: dict[str, Any] = {"clients": hc.clients}
    try:
        figures.update(_serve(hc, scenarios, debug=True))
        if production_wanted():
            figures["debug_false"] = _serve(hc, scenarios, debug=False)
            figures["goal_judged_on"] = "debug_false (served as in production)"
        if "order_push" in figures:
            figures["order_push"]["queries_per_order"] = _queries_per_order(run, phones, key, 20)
    finally:
        cleanup(ctx.conn)
    return figures


def measure_rows(
    hc: HttpConfig,
    port: int,
    rows: dict[str, tuple[str, Callable[[int], Request]]],
    offset: int,
    label: str,
) -> tuple[dict[str, Any], int]:
    """Each row on the server at ``port``: warmed (imports, templates, first connection),
    then 1 client, then ``hc.clients``; the figures, and the next request number."""
    figures: dict[str, Any] = {}
    for name, (what, make) in rows.items():
        load(port, make, hc.workers * hc.threads, hc.clients, offset=offset)
        offset += hc.workers * hc.threads
        single = load(port, make, hc.single_requests, 1, offset=offset)
        offset += hc.single_requests
        many = load(port, make, hc.requests, hc.clients, offset=offset)
        offset += hc.requests
        figures[name] = {"what": what, "single_client": single, "concurrent": many}
        print(
            f"  {name} {label}: 1 client {single['req_per_s']} req/s p95 "
            f"{single['p95_ms']} ms; {hc.clients} clients {many['req_per_s']} req/s p95 "
            f"{many['p95_ms']} ms p99 {many['p99_ms']} ms; CPU/request "
            f"{json.dumps(many['cpu_ms_per_request'])}",
            flush=True,
        )
    return figures, offset


def _serve(
    hc: HttpConfig, scenarios: dict[str, tuple[str, Callable[[int], Request]]], *, debug: bool
) -> dict[str, Any]:
    """Every scenario through one gunicorn: warmed, then 1 client, then ``hc.clients``."""
    figures: dict[str, Any] = {
        "server": (
            f"gunicorn {hc.workers} workers x {hc.threads} threads (gthread), DEBUG={debug}, "
            "on 127.0.0.1"
        ),
    }
    offset = 0 if debug else 10**6  # new order numbers for the second server
    with gunicorn(hc.workers, hc.threads, debug=debug) as port:
        measured, _offset = measure_rows(hc, port, scenarios, offset, f"(DEBUG={debug})")
    figures.update(measured)
    return figures


# --- Database connections under 50,000 requests -------------------------------------------


class ConnectionSampler:
    """Counts client backends in ``pg_stat_activity`` every 50 ms on its own connection."""

    SQL = (
        "SELECT count(*) FILTER (WHERE datname = current_database()), count(*) "
        "FROM pg_stat_activity WHERE backend_type = 'client backend'"
    )

    def __init__(self) -> None:
        self.conn = bare_connection()
        self.peak_database = self.peak_server = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> tuple[int, int]:
        database, server = self.conn.execute(self.SQL).fetchone() or (0, 0)
        return int(database), int(server)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            database, server = self.now()
            self.peak_database = max(self.peak_database, database)
            self.peak_server = max(self.peak_server, server)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def close(self) -> None:
        self.conn.close()


def connections_under_load(ctx: Any) -> dict[str, Any]:
    """``make run``'s gunicorn (3 workers x 4 threads) through 50,000 requests: the number
    of database connections stays within workers x threads above what was there before."""
    hc = HttpConfig()
    _drop_api_keys()
    key = _api_key()
    api = {"Authorization": f"Api-Key {key}"}
    sampler = ConnectionSampler()
    try:
        before = sampler.now()
        max_connections = int(rows(ctx.conn, "SHOW max_connections")[0][0])
        with gunicorn(hc.conn_workers, hc.conn_threads) as port:
            served = sampler.now()
            with sampler:
                stats = load(
                    port,
                    lambda i: Request("GET", "/api/v1/me/", api),
                    hc.conn_requests,
                    hc.clients,
                )
            after_load = sampler.now()
        time.sleep(0.5)
        stopped = sampler.now()
    finally:
        sampler.close()
        _drop_api_keys()
    slots = hc.conn_workers * hc.conn_threads
    bounded = sampler.peak_database - before[0] <= slots
    result = {
        "what": (
            f"GET /api/v1/me/ (API key: key lookup, throttle in the database cache) x "
            f"{hc.conn_requests:,} from {hc.clients} clients against make run's gunicorn "
            f"command ({hc.conn_workers} workers x {hc.conn_threads} threads); client backends in "
            "pg_stat_activity on the bench database (and the whole server)"
        ),
        "requests": stats,
        "connections": {
            "before_server": before[0],
            "server_started": served[0],
            "peak_under_load": sampler.peak_database,
            "after_load": after_load[0],
            "after_server_stopped": stopped[0],
            "peak_whole_server": sampler.peak_server,
            "bound_workers_x_threads": slots,
            "max_connections": max_connections,
        },
        "bounded": bounded,
    }
    print(
        f"  {stats['requests']:,} requests at {stats['req_per_s']} req/s; connections before "
        f"{before[0]}, peak {sampler.peak_database}, after {after_load[0]}, "
        f"stopped {stopped[0]} (bound {before[0]} + {slots})",
        flush=True,
    )
    if not bounded:
        raise SystemExit(f"database connections grew past workers x threads: {result}")
    return result
