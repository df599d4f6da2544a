"""Importing a line-level file at scale: the product's import beside bare COPY of the file.

The file is shaped like the UCI Online Retail export (one row per order line, the order id
repeated, customer ids written by a spreadsheet as ``12347.0``, UK times), as large as
``BENCH_IMPORT_ROWS`` (1,000,000 by default). Each side runs in its own process, so that its
peak memory (``ru_maxrss`` of that process) is its own:

- the import as an administrator runs it (``manage.py import_transactions``), rows per second,
  through the bulk path (what the command, the screen and the job use) and through the
  service path (``--path service``, batch by batch), each on a fresh source;
- the dry run of the first ``BENCH_IMPORT_DRY_ROWS`` rows (600,000) as the web job runs it
  (the upload read from disk), peak memory;
- bare SQL: ``COPY`` of the same file into an unlogged table of text columns.

Run alone as ``python -m tests.bench.file_import dry-run FILE`` it is the job's side of the
dry run (used by the scenario in a subprocess).
"""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HEADER = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]
SOURCE = "benchfile"
UNIT = "AUTO"
TIME_ZONE = "Europe/London"
_PRODUCTS = [
    ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "2.55"),
    ("71053", "WHITE METAL LANTERN", "3.39"),
    ("84406B", "CREAM CUPID HEARTS COAT HANGER", "2.75"),
    ("22752", "SET 7 BABUSHKA NESTING BOXES", "7.65"),
    ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", "4.25"),
    ("22633", "HAND WARMER UNION JACK", "1.85"),
    ("84879", "ASSORTED COLOUR BIRD ORNAMENT", "1.69"),
    ("22745", "POPPY'S PLAYHOUSE BEDROOM", "2.10"),
]


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name, "").replace("_", "") or default)


def write_line_level_file(path: Path, rows: int, seed: int) -> dict[str, int]:
    """``rows`` order lines, about 20 per order, customers from a pool of rows/100; what was
    written (orders, lines, cancellations, guest orders)."""
    rng = random.Random(seed)
    customers = max(2, rows // 100)
    start = datetime(2011, 1, 4, 8, 0)
    written = {"orders": 0, "lines": 0, "cancellations": 0, "guest_orders": 0}
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        order = 536365
        while written["lines"] < rows:
            size = min(rows - written["lines"], rng.randint(1, 39))
            cancel = rng.random() < 0.02
            guest = rng.random() < 0.05
            customer = "" if guest else f"{12346 + rng.randrange(customers)}.0"
            moment = start + timedelta(minutes=7 * written["orders"] + rng.randrange(5))
            invoice = f"C{order}" if cancel else str(order)
            for _ in range(size):
                code, name, price = rng.choice(_PRODUCTS)
                quantity = rng.randint(1, 24) * (-1 if cancel else 1)
                out.writerow(
                    [
                        invoice,
                        code,
                        name,
                        quantity,
                        moment.strftime("%Y-%m-%d %H:%M:%S"),
                        price,
                        customer,
                        "United Kingdom",
                    ]
                )
            written["lines"] += size
            written["orders"] += 1
            written["cancellations"] += cancel
            written["guest_orders"] += guest
            order += 1
    return written


def _run_measured(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``command``; its wall time, exit status, peak memory and the end of its output."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        tail = output.read().decode("utf-8", "replace")[-2000:]
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{tail}")
    return {"seconds": seconds, "peak_mb": round(usage.ru_maxrss / 1024, 1), "output": tail}


def cleanup(conn: Any) -> None:
    """Remove what the import wrote (its transactions, then the customers it created)."""
    with conn.transaction():
        conn.execute("DELETE FROM crm_transaction WHERE source = %s", [SOURCE])
        created = "SELECT id FROM crm_customer WHERE source = %s"
        for table in ("crm_timelineevent", "crm_identity", "crm_duplicatecandidate"):
            column = "customer_a_id" if table == "crm_duplicatecandidate" else "customer_id"
            conn.execute(f"DELETE FROM {table} WHERE {column} IN ({created})", [SOURCE])
        conn.execute("DELETE FROM crm_customer WHERE source = %s", [SOURCE])


def bare_copy(conn: Any, path: Path) -> float:
    """Seconds to COPY the file into an unlogged table of text columns (then dropped)."""
    columns = ", ".join(f'"{name}" text' for name in HEADER)
    conn.execute("DROP TABLE IF EXISTS bench_file_staging")
    conn.execute(f"CREATE UNLOGGED TABLE bench_file_staging ({columns})")
    started = time.perf_counter()
    copy_sql = "COPY bench_file_staging FROM STDIN (FORMAT csv, HEADER true)"
    with (
        conn.transaction(),
        conn.cursor() as cur,
        cur.copy(copy_sql) as copy,
        path.open("rb") as handle,
    ):
        while chunk := handle.read(1 << 20):
            copy.write(chunk)
    seconds = time.perf_counter() - started
    conn.execute("DROP TABLE bench_file_staging")
    return seconds


def _summary(output: str) -> str:
    """The command's one-line result (``Imported: received=..., created=...``)."""
    return next((line.strip() for line in output.splitlines() if line.startswith("Imported:")), "")


def _import(manage: list[str], path: Path, env: dict[str, str], way: str) -> dict[str, Any]:
    return _run_measured(
        [
            *manage,
            "import_transactions",
            str(path),
            f"--unit={UNIT}",
            f"--source={SOURCE}",
            "--channel=store",
            f"--time-zone={TIME_ZONE}",
            f"--path={way}",
            "--verbosity=1",
        ],
        env,
    )


def file_import(ctx: Any) -> dict[str, Any]:
    from django.conf import settings

    rows = _int_env("BENCH_IMPORT_ROWS", 1_000_000)
    dry_rows = min(rows, _int_env("BENCH_IMPORT_DRY_ROWS", 600_000))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.bench.settings"}
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    stored_sql = (
        "SELECT count(*), coalesce(sum(jsonb_array_length(lines)), 0) "
        "FROM crm_transaction WHERE source = %s"
    )
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "line_level.csv"
        dry_path = Path(folder) / "line_level_dry.csv"
        print(f"  writing a line-level file of {rows:,} rows ...", flush=True)
        written = write_line_level_file(path, rows, ctx.cfg.seed)
        write_line_level_file(dry_path, dry_rows, ctx.cfg.seed)
        size_mb = round(path.stat().st_size / 1024 / 1024, 1)
        cleanup(ctx.conn)

        print(f"  dry run of {dry_rows:,} rows as the web job runs it ...", flush=True)
        dry = _run_measured(
            [sys.executable, "-m", "tests.bench.file_import", "dry-run", str(dry_path)], env
        )
        for way in ("bulk", "service"):
            print(f"  import of {rows:,} rows (import_transactions --path {way}) ...", flush=True)
            measured = _import(manage, path, env, way)
            stored = ctx.conn.execute(stored_sql, [SOURCE]).fetchone()
            if (stored[0], stored[1]) != (written["orders"], written["lines"]):
                raise SystemExit(f"the {way} path stored {stored} of {written}")
            runs[way] = {
                "seconds": round(measured["seconds"], 1),
                "rows_per_s": round(rows / measured["seconds"]),
                "peak_mb": measured["peak_mb"],
                "summary": _summary(measured["output"]),
            }
            cleanup(ctx.conn)
        print(f"  COPY of the same {rows:,} rows ...", flush=True)
        copy_seconds = bare_copy(ctx.conn, path)
    copy_rate = round(rows / copy_seconds)
    bulk, service = runs["bulk"], runs["service"]
    return {
        "what": (
            f"manage.py import_transactions of a {size_mb} MB line-level CSV "
            f"({rows:,} rows, {written['orders']:,} orders, Online Retail shape), each path "
            "in its own process, on a fresh source (new customers)"
        ),
        "rows": rows,
        "written": written,
        "product": bulk,  # what the import command, the screen and the job use
        "service_path": service,
        "same_result": bulk["summary"] == service["summary"],
        "dry_run": {
            "what": (
                f"the web job's dry run of the first {dry_rows:,} rows (the upload read "
                "from disk), in its own process"
            ),
            "rows": dry_rows,
            "seconds": round(dry["seconds"], 1),
            "rows_per_s": round(dry_rows / dry["seconds"]),
            "peak_mb": dry["peak_mb"],
        },
        "bare_sql": {
            "what": "COPY of the same file into an unlogged table of text columns",
            "seconds": round(copy_seconds, 2),
            "rows_per_s": copy_rate,
        },
        "ratio": round(copy_rate / bulk["rows_per_s"], 2),
        "ratio_service": round(copy_rate / service["rows_per_s"], 2),
        "bulk_vs_service": round(bulk["rows_per_s"] / service["rows_per_s"], 2),
        "goals": {"rows_per_s": 10_000, "dry_run_peak_mb": 200},
    }


def _dry_run(path: Path) -> None:
    """The web job's dry run of ``path`` (read from disk as the job reads its upload)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.bench.settings")
    django.setup()
    from crm.imports import ImportOptions, run_transaction_import
    from crm.models import BusinessUnit

    unit = BusinessUnit.objects.get(code=UNIT)
    result = run_transaction_import(
        business_unit=unit,
        source=SOURCE,
        path=path,  # the job reads its stored upload as a stream, never whole
        filename=path.name,
        channel="store",
        dry_run=True,
        options=ImportOptions(time_zone=TIME_ZONE),
    )
    print({k: v for k, v in result.items() if k != "errors"})


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "dry-run":
        _dry_run(Path(sys.argv[2]))
    else:
        raise SystemExit("usage: python -m tests.bench.file_import dry-run FILE")
