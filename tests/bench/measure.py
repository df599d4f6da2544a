"""Timing, query counting and EXPLAIN helpers shared by the scenarios."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.db import connection
from django.test.utils import CaptureQueriesContext


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values_ms: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values_ms),
        "p50_ms": round(percentile(values_ms, 50), 3),
        "p95_ms": round(percentile(values_ms, 95), 3),
        "max_ms": round(max(values_ms), 3),
        "mean_ms": round(sum(values_ms) / len(values_ms), 3),
    }


@dataclass
class Series:
    """Timings of one side (the product or bare SQL) over the varied inputs."""

    times_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = summary(self.times_ms)
        if self.queries:
            result["queries"] = {"min": min(self.queries), "max": max(self.queries)}
        return result


def time_orm(call: Callable[[], Any], series: Series) -> Any:
    """Run ``call`` once through Django, timing it and counting its SQL statements."""
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        result = call()
        series.times_ms.append((time.perf_counter() - started) * 1000)
    series.queries.append(len(captured.captured_queries))
    return result


def time_bare(call: Callable[[], Any], series: Series) -> Any:
    started = time.perf_counter()
    result = call()
    series.times_ms.append((time.perf_counter() - started) * 1000)
    return result


def compare(
    inputs: Iterable[Any],
    orm: Callable[[Any], Any],
    bare: Callable[[Any], Any],
    *,
    warmup: int = 3,
) -> tuple[Series, Series]:
    """Time ``orm(x)`` and ``bare(x)`` for every input, alternating which goes first so
    that neither side always finds the other's pages in cache."""
    inputs = list(inputs)
    for x in inputs[:warmup]:
        orm(x)
        bare(x)
    ours, floor = Series(), Series()
    for i, x in enumerate(inputs):
        if i % 2:
            time_bare(lambda x=x: bare(x), floor)
            time_orm(lambda x=x: orm(x), ours)
        else:
            time_orm(lambda x=x: orm(x), ours)
            time_bare(lambda x=x: bare(x), floor)
    return ours, floor


def figure(description: str, ours: Series, floor: Series | None, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"what": description, "product": ours.stats()}
    if floor is not None:
        result["bare_sql"] = floor.stats()
        result["ratio_p50"] = _ratio(result["product"]["p50_ms"], result["bare_sql"]["p50_ms"])
        result["ratio_p95"] = _ratio(result["product"]["p95_ms"], result["bare_sql"]["p95_ms"])
    result.update(extra)
    return result


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b > 0 else None


# --- Bare SQL ---------------------------------------------------------------------------


def bare_connection() -> psycopg.Connection:
    """A plain psycopg connection to the bench database (no Django in the way)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=db["NAME"],
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        autocommit=True,
        prepare_threshold=None,  # plan every execution, as Django's client-side binding does
    )


def rows(conn: psycopg.Connection, sql: str, params: Any = None) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


# --- EXPLAIN ----------------------------------------------------------------------------


def explain(conn: psycopg.Connection, sql: str, params: Any = None) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) once: the top node, the indexes used, any seq scans."""
    text = "\n".join(
        r[0] for r in rows(conn, "EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + sql, params)
    )
    plan_json = rows(conn, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)[0][0]
    if isinstance(plan_json, str):
        plan_json = json.loads(plan_json)
    root = plan_json[0]
    nodes: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        nodes.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk(root["Plan"])
    scans = []
    for n in nodes:
        if "Scan" not in n["Node Type"]:
            continue
        where = f" using {n['Index Name']}" if "Index Name" in n else ""
        where += f" on {n['Relation Name']}" if "Relation Name" in n else ""
        loops = n.get("Actual Loops", 1)
        rows_ = n.get("Actual Rows", 0)
        scans.append(
            f"{n['Node Type']}{where}: {rows_} rows" + (f" x {loops} loops" if loops > 1 else "")
        )
    top = root["Plan"]
    return {
        "top_node": top["Node Type"],
        "scans": scans,
        "indexes": sorted({n["Index Name"] for n in nodes if "Index Name" in n}),
        "seq_scans": sorted({n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"}),
        "execution_ms": round(root.get("Execution Time", 0.0), 3),
        "planning_ms": round(root.get("Planning Time", 0.0), 3),
        "shared_hit": top.get("Shared Hit Blocks", 0),
        "shared_read": top.get("Shared Read Blocks", 0),
        "text": text,
    }


def captured_sql(call: Callable[[], Any]) -> list[str]:
    """The SQL statements ``call`` sends through Django, as executed."""
    with CaptureQueriesContext(connection) as captured:
        call()
    return [q["sql"] for q in captured.captured_queries]
