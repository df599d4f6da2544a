"""An extra figure of the members benchmark (not the goal's definition): the same earn/redeem
service from several processes of a few threads each, as a deployment runs it (gunicorn
workers, Celery processes), beside the one-process figure whose 16 threads share one GIL.

``members_points`` keeps measuring the goal as defined (16 threads, one process); this adds
``product_<n>_processes`` to it: ``BENCH_MEMBER_PROCESSES`` processes (2 by default, 0 to
skip) sharing the 16 threads, on the same members, with new references.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from decimal import Decimal
from typing import Any


def planned_operation(
    unit: Any, tag: str, i: int, n: int, kind: str, member: Any, value: int
) -> str:
    """Thread ``i``'s ``n``-th planned operation through the service (an earn of ``value``
    yuan or a redemption of ``value`` points, references unique to the run ``tag``); its
    outcome. Shared by the one-process figure (members.py) and this one."""
    from members import services
    from members.errors import InsufficientPoints

    try:
        if kind == "earn":
            services.earn_points(
                member=member,
                business_unit=unit,
                reference=f"{tag}-s{i}-{n}",
                amount=Decimal(value),
            )
            return "earned"
        services.redeem_points(
            member=member, business_unit=unit, points=value, reference=f"{tag}-r{i}-{n}"
        )
        return "redeemed"
    except InsufficientPoints:
        return "insufficient_points"


def _child(
    plans: list[list[tuple[str, int, int]]], unit: int, tag: str, barrier: Any, results: Any
) -> None:
    from django.db import connection

    latencies: list[float] = []
    outcomes = {"earned": 0, "redeemed": 0, "insufficient_points": 0}
    lock = threading.Lock()
    errors: list[str] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            for n, (kind, member, value) in enumerate(plans[i]):
                started = time.perf_counter()
                outcome = planned_operation(unit, tag, i, n, kind, member, value)
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                    outcomes[outcome] += 1
        except BaseException as exc:  # reported to the parent
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(plans))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put((latencies, outcomes, errors))


def processes_figure(
    plan: list[list[tuple[str, int, int]]], unit: int, tag: str, processes: int
) -> dict[str, Any]:
    """Run ``plan`` (one list of operations per thread) split over ``processes`` forked
    processes, released together; ops/s, latencies and outcomes."""
    from django.db import connections

    from tests.bench.measure import percentile

    connections.close_all()  # a forked child must not share the parent's connection
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(plan) + 1)
    results = ctx.Queue()
    per = -(-len(plan) // processes)
    children = [
        ctx.Process(
            target=_child, args=(plan[p * per : (p + 1) * per], unit, f"{tag}{p}", barrier, results)
        )
        for p in range(processes)
    ]
    for child in children:
        child.start()
    barrier.wait()
    started = time.perf_counter()
    collected = [results.get() for _ in children]
    seconds = time.perf_counter() - started
    for child in children:
        child.join()
    errors = [e for _l, _o, errs in collected for e in errs]
    if errors:
        raise SystemExit(f"{len(errors)} threads failed in the processes: {errors[0]}")
    flat = [x for lat, _o, _e in collected for x in lat]
    outcomes: dict[str, int] = {}
    for _l, out, _e in collected:
        for key, value in out.items():
            outcomes[key] = outcomes.get(key, 0) + value
    return {
        "what": f"the same service from {processes} processes x {per} threads (fork), "
        "an extra figure: the goal is defined on one process",
        "ops": len(flat),
        "seconds": round(seconds, 2),
        "ops_per_s": round(len(flat) / seconds, 1),
        "p50_ms": round(percentile(flat, 50), 1),
        "p95_ms": round(percentile(flat, 95), 1),
        "outcomes": outcomes,
    }


def _stat(pid: str) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()  # fields from the state on (3rd field)


def server_cpu_seconds() -> float | None:
    """CPU seconds used so far by the embedded PostgreSQL (the postmaster, its reaped
    backends, its live children), from ``/proc``; ``None`` for another server."""
    import os

    from django.conf import settings

    pid_file = settings.VAR_DIR / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return None
    postmaster = pid_file.read_text().split()[0]
    if not os.path.exists(f"/proc/{postmaster}"):  # a stale file: another server is used
        return None
    tick = os.sysconf("SC_CLK_TCK")
    try:
        own = _stat(postmaster)  # utime, stime, cutime, cstime are fields 14-17
        total = sum(int(x) for x in own[11:15])
        for entry in os.listdir("/proc"):
            if entry.isdigit() and entry != postmaster:
                try:
                    fields = _stat(entry)
                except OSError:
                    continue
                if fields[1] == postmaster:  # ppid
                    total += int(fields[11]) + int(fields[12])
    except OSError:
        return None
    return total / tick


class CpuClock:
    """CPU seconds of this process (its threads), of its reaped children (the processes of
    ``processes_figure``) and of the database server, between ``start()`` and ``per_op()``."""

    def __init__(self) -> None:
        import os

        self._times = os.times()
        self._server = server_cpu_seconds()

    def per_op(self, ops: int) -> dict[str, float | None]:
        import os

        now, server = os.times(), server_cpu_seconds()
        client = (now.user - self._times.user) + (now.system - self._times.system)
        client += (now.children_user - self._times.children_user) + (
            now.children_system - self._times.children_system
        )
        return {
            "client_ms": round(client * 1000 / ops, 3),
            "server_ms": (
                round((server - self._server) * 1000 / ops, 3)
                if server is not None and self._server is not None
                else None
            ),
        }
