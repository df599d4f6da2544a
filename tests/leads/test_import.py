"""Importing leads through the shared import machinery: encodings, row errors naming the
column, dedup against open leads and within the file, a dry run equal to the import."""

from __future__ import annotations

from typing import Any

import pytest

from crm.imports.record_jobs import get_importer, run_record_import
from leads.models import Lead, LeadPool

pytestmark = pytest.mark.django_db

HEADER = ["姓名", "公司", "手机", "邮箱", "来源", "渠道", "活动代码", "评分", "线索池"]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    lines = [",".join(HEADER)] + [",".join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def run(data: bytes, *, user: Any, unit: Any, dry_run: bool = False) -> dict[str, Any]:
    return run_record_import(
        importer=get_importer("leads"),
        business_unit=unit,
        user=user,
        filename="leads.csv",
        dry_run=dry_run,
        data=data,
    )


ROWS = [
    ["韩梅梅", "", "138 0013 8000", "", "展会", "上海车展", "AUTO-S", "60", ""],
    ["李雷", "远航物流", "13900139000", "li@example.com", "referral", "", "", "", "华东组"],
    ["韩梅梅", "", "+86 13800138000", "", "", "", "", "", ""],  # the first row again
    ["王五", "", "12345", "", "", "", "", "", ""],
    ["赵六", "", "13700137000", "", "", "", "", "150", ""],
    ["钱七", "", "13600136000", "", "", "", "", "", "不存在的池"],
]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_a_file_of_leads_with_duplicates_and_bad_rows(encoding, manager, unit_a, public_pool):
    team = LeadPool.objects.create(business_unit=unit_a, name="华东组")
    dry = run(csv_bytes(ROWS, encoding), user=manager, unit=unit_a, dry_run=True)
    assert Lead.objects.count() == 0
    result = run(csv_bytes(ROWS, encoding), user=manager, unit=unit_a)
    for key in ("created", "duplicate", "rejected", "existing_customer", "quarantined"):
        assert dry[key] == result[key], key
    assert (result["created"], result["duplicate"], result["rejected"]) == (2, 1, 3)
    assert {(e["line"], e["field"]) for e in result["errors"]} == {
        (5, "phone"),
        (6, "score"),
        (7, "pool"),
    }
    first = Lead.objects.get(phone="+8613800138000")
    assert (first.source, first.channel, first.campaign_code, first.score) == (
        "trade_show",
        "上海车展",
        "AUTO-S",
        60,
    )
    assert first.events.filter(kind="duplicate").count() == 1
    second = Lead.objects.get(phone="+8613900139000")
    assert (second.kind, second.pool, second.source) == ("company", team, "referral")
    # Importing the same file again creates nothing.
    again = run(csv_bytes(ROWS, encoding), user=manager, unit=unit_a)
    assert (again["created"], again["duplicate"]) == (0, 3)
