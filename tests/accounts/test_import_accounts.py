"""Importing accounts: encodings (UTF-8 with BOM, GBK, GB18030) and XLSX, USCC checked per
row, matching by USCC then by name, a dry run that is the import, re-runs that change
nothing, the job with its progress and its error file."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook

from accounts.imports import ACCOUNT_COLUMNS
from accounts.models import Account
from crm.imports.record_jobs import get_importer, run_record_import
from crm.models import Customer, CustomerKind
from tests.accounts.conftest import make_uscc

pytestmark = pytest.mark.django_db

HEADER = [
    "公司名称",
    "统一社会信用代码",
    "行业",
    "规模",
    "省份",
    "城市",
    "状态",
    "负责人",
    "上级单位信用代码",
]


def csv_bytes(
    rows: list[list[str]], encoding: str = "utf-8-sig", header: list[str] = HEADER
) -> bytes:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run(
    data: bytes, *, user: Any, unit: Any, dry_run: bool = False, filename: str = "a.csv"
) -> dict[str, Any]:
    return run_record_import(
        importer=get_importer("accounts"),
        business_unit=unit,
        user=user,
        filename=filename,
        dry_run=dry_run,
        data=data,
    )


def sample_rows() -> list[list[str]]:
    group, child = make_uscc(9001), make_uscc(9002)
    return [
        ["星辰控股有限公司", group, "制造业", "大型", "上海", "上海", "活跃", "rep_a", ""],
        ["星辰物流有限公司", child, "G", "medium", "江苏", "苏州", "prospect", "", group],
    ]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_encodings_create_accounts_in_the_importers_unit(encoding, rep_a, unit_a):
    result = run(csv_bytes(sample_rows(), encoding), user=rep_a, unit=unit_a)
    assert result["created"] == 2 and result["rejected"] == 0, result["errors"]
    child = Account.objects.get(customer__display_name="星辰物流有限公司")
    assert child.parent.customer.display_name == "星辰控股有限公司"
    assert (child.industry, child.size_band, child.city) == ("G", "medium", "苏州")
    group = child.parent
    assert (group.industry, group.size_band, group.status, group.owner) == (
        "C",
        "large",
        "active",
        rep_a,
    )
    assert list(group.business_units.all()) == [unit_a]
    assert result["encoding"] in {"utf-8-sig", "gb18030"}


def test_xlsx(rep_a, unit_a):
    result = run(xlsx_bytes(sample_rows()), user=rep_a, unit=unit_a, filename="a.xlsx")
    assert (result["format"], result["created"], result["rejected"]) == ("xlsx", 2, 0)


def test_bad_uscc_is_a_row_error_naming_column_and_reason(rep_a, unit_a):
    good = make_uscc(9003)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [
        ["好公司", good, "", "", "", "", "", "", ""],
        ["坏公司", bad, "", "", "", "", "", "", ""],
    ]
    result = run(csv_bytes(rows), user=rep_a, unit=unit_a)
    assert (result["created"], result["rejected"]) == (1, 1)
    error = result["errors"][0]
    assert (error["line"], error["field"]) == (3, "uscc")
    assert "check character" in error["reason"] or "校验" in error["reason"]
    assert not Customer.objects.filter(display_name="坏公司").exists()


def test_row_errors_leave_nothing_partial(rep_a, unit_a):
    """A row whose parent is unknown is rolled back whole: its account is not created."""
    rows = [["孤儿公司", make_uscc(9004), "", "", "", "", "", "", make_uscc(9005)]]
    result = run(csv_bytes(rows), user=rep_a, unit=unit_a)
    assert result["rejected"] == 1 and result["errors"][0]["field"] == "parent_uscc"
    assert not Customer.objects.filter(display_name="孤儿公司").exists()


def test_dry_run_predicts_the_import_and_rerun_changes_nothing(rep_a, unit_a):
    rows = [
        *sample_rows(),
        ["无代码公司", "", "", "", "", "", "", "", ""],
        ["x", "123", "", "", "", "", "", "", ""],
    ]
    data = csv_bytes(rows)
    predicted = run(data, user=rep_a, unit=unit_a, dry_run=True)
    assert Account.objects.count() == 0
    done = run(data, user=rep_a, unit=unit_a)
    keys = ("received", "created", "updated", "unchanged", "rejected", "errors")
    assert {k: predicted[k] for k in keys} == {k: done[k] for k in keys}
    assert (done["created"], done["rejected"]) == (2, 2)
    again = run(data, user=rep_a, unit=unit_a)
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (
        0,
        0,
        2,
        2,
    )
    assert (
        Account.objects.count() == 2
        and Customer.objects.filter(kind=CustomerKind.ORGANIZATION).count() == 2
    )


def test_existing_account_matched_by_uscc_then_by_name_and_updated(
    rep_a, unit_a, unit_b, make_account
):
    by_uscc = make_account("甲公司", unit=unit_b, uscc=make_uscc(9010))
    by_name = make_account("乙 公司", unit=unit_b)
    rows = [
        ["甲公司(新名)", make_uscc(9010), "", "", "", "杭州", "", "", ""],
        ["乙公司", "", "", "", "", "宁波", "", "", ""],
    ]
    result = run(csv_bytes(rows), user=rep_a, unit=unit_a)
    assert (result["created"], result["updated"], result["rejected"]) == (0, 2, 0), result["errors"]
    by_uscc.refresh_from_db()
    by_name.refresh_from_db()
    assert (by_uscc.city, by_name.city) == ("杭州", "宁波")
    assert by_uscc.customer.display_name == "甲公司"  # the master keeps its name
    assert set(by_name.business_units.all()) == {unit_a, unit_b}
    assert Account.objects.count() == 2


def test_unknown_uscc_with_the_name_of_another_account_is_refused(rep_a, unit_a, make_account):
    make_account("丙公司", uscc=make_uscc(9020))
    result = run(
        csv_bytes([["丙公司", make_uscc(9021), "", "", "", "", "", "", ""]]),
        user=rep_a,
        unit=unit_a,
    )
    assert result["rejected"] == 1 and result["errors"][0]["field"] == "uscc"
    assert Account.objects.count() == 1


def test_headers_in_english_are_recognised():
    positions = ACCOUNT_COLUMNS.positions(["Company Name", "USCC", "industry", "Parent"])
    assert positions == {"name": 0, "uscc": 1, "industry": 2, "parent_uscc": 3}


def test_progress_is_reported_between_batches(rep_a, unit_a):
    rows = [[f"公司{n}", make_uscc(9100 + n), "", "", "", "", "", "", ""] for n in range(7)]
    seen: list[tuple[float, int]] = []
    result = run_record_import(
        importer=get_importer("accounts"),
        business_unit=unit_a,
        user=rep_a,
        filename="a.csv",
        dry_run=False,
        data=csv_bytes(rows),
        progress=lambda fraction, read: seen.append((fraction, read)),
        batch_size=3,
    )
    assert result["created"] == 7
    assert [read for _f, read in seen] == [3, 6, 7, 7]  # after each batch, then the end
    assert seen[-1][0] == 1.0 and all(0 < f <= 1 for f, _r in seen)
