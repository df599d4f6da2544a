"""An account file of many rows through the service path: every row created once, the
re-run changes nothing, and the rate (rows/s) printed. ``IMPORT_BENCH_ROWS=20000`` measures
the figure in the report (run it under ``flock /work/tools/bench.lock``); the default is
small so that the suite stays quick."""

from __future__ import annotations

import os
import time

import pytest

from accounts.models import Account
from crm.imports.record_jobs import get_importer, run_record_import
from tests.accounts.conftest import make_uscc

pytestmark = pytest.mark.django_db

ROWS = int(os.environ.get("IMPORT_BENCH_ROWS", "60"))
DRY_RUN = os.environ.get("IMPORT_BENCH_DRY_RUN", "1") == "1"  # 0: skip the dry run's pass


def accounts_file(rows: int) -> bytes:
    lines = ["公司名称,统一社会信用代码,行业,规模,省份,城市,状态"]
    for n in range(rows):
        lines.append(f"星辰测试{n}有限公司,{make_uscc(200000 + n)},C,small,上海,上海,active")
    return ("\n".join(lines) + "\n").encode("gb18030")


def test_many_rows_created_once_then_unchanged(rep_a, unit_a, capsys):
    data = accounts_file(ROWS)

    def timed(dry_run: bool = False) -> tuple[dict, float]:
        started = time.perf_counter()
        result = run_record_import(
            importer=get_importer("accounts"),
            business_unit=unit_a,
            user=rep_a,
            filename="many.csv",
            dry_run=dry_run,
            data=data,
        )
        return result, time.perf_counter() - started

    dry, dry_seconds = timed(dry_run=True) if DRY_RUN else ({"created": ROWS}, 0.0)
    first, first_seconds = timed()
    again, again_seconds = timed()
    assert dry["created"] == first["created"] == ROWS and first["rejected"] == 0
    assert again["unchanged"] == ROWS and again["created"] == again["updated"] == 0
    assert Account.objects.count() == ROWS
    with capsys.disabled():
        print(
            f"\naccount import, {ROWS} rows: dry run {ROWS / (dry_seconds or 1e-9):.0f} rows/s, "
            f"create {ROWS / first_seconds:.0f} rows/s, re-run {ROWS / again_seconds:.0f} rows/s"
        )
