"""Importing contacts: phones normalized (a bad one is a row error), roles named in either
language, the account found by USCC or name (an unknown one is a row error), the person
deduplicated through the master, dry run = import, re-runs that change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Contact
from crm.imports.record_jobs import get_importer, run_record_import
from crm.models import Customer, CustomerKind, Identity
from tests.accounts.conftest import make_uscc

pytestmark = pytest.mark.django_db

HEADER = [
    "姓名",
    "手机",
    "邮箱",
    "职位",
    "部门",
    "角色",
    "主要联系人",
    "公司统一社会信用代码",
    "公司名称",
]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    lines = [",".join(HEADER)] + [
        ",".join(f'"{c}"' if "," in c else c for c in row) for row in rows
    ]
    return ("\n".join(lines) + "\n").encode(encoding)


def run(data: bytes, *, user: Any, unit: Any, dry_run: bool = False) -> dict[str, Any]:
    return run_record_import(
        importer=get_importer("contacts"),
        business_unit=unit,
        user=user,
        filename="c.csv",
        dry_run=dry_run,
        data=data,
    )


@pytest.fixture
def two_accounts(make_account):
    return make_account("星辰控股", uscc=make_uscc(7001)), make_account(
        "月光贸易", uscc=make_uscc(7002)
    )


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_contacts_at_two_accounts_are_one_customer(encoding, rep_a, unit_a, two_accounts, roles):
    star, moon = two_accounts
    rows = [
        [
            "王芳",
            "138 0013 8000",
            "Wang.Fang@Example.com",
            "采购经理",
            "采购部",
            "决策者、Purchaser",
            "是",
            make_uscc(7001),
            "",
        ],
        ["王芳", "+86 13800138000", "", "顾问", "", "influencer", "", "", "月光贸易"],
        ["李强", "", "li@example.com", "", "", "", "否", make_uscc(7001), ""],
    ]
    result = run(csv_bytes(rows, encoding), user=rep_a, unit=unit_a)
    assert result["rejected"] == 0, result["errors"]
    assert (result["created"], result["created_known"]) == (2, 1)
    wang = Identity.objects.get(type="mobile", value="+8613800138000").customer
    assert set(Contact.objects.filter(person=wang).values_list("account", flat=True)) == {
        star.pk,
        moon.pk,
    }
    at_star = Contact.objects.get(person=wang, account=star)
    assert at_star.is_primary and (at_star.title, at_star.department) == ("采购经理", "采购部")
    assert {r.code for r in at_star.roles.all()} == {"decision_maker", "purchaser"}
    assert Customer.objects.filter(kind=CustomerKind.PERSON).count() == 2


def test_bad_phone_unknown_account_and_role_are_row_errors(
    rep_a, unit_a, rep_b, unit_b, two_accounts, make_account
):
    make_account("别家公司", unit=unit_b, user=rep_b, uscc=make_uscc(7003))
    rows = [
        ["坏号码", "12345", "", "", "", "", "", make_uscc(7001), ""],
        ["无公司", "13900139000", "", "", "", "", "", "", "不存在公司"],
        ["别家", "13900139001", "", "", "", "", "", make_uscc(7003), ""],  # another unit's account
        ["怪角色", "13900139002", "", "", "", "老板", "", make_uscc(7001), ""],
        ["好人", "13900139003", "", "", "", "", "", make_uscc(7001), ""],
    ]
    result = run(csv_bytes(rows), user=rep_a, unit=unit_a)
    assert result["created"] == 1
    errors = {(e["line"], e["field"]) for e in result["errors"]}
    assert errors == {(2, "phone"), (3, "account_name"), (4, "account_uscc"), (5, "roles")}
    assert not Customer.objects.filter(
        display_name__in=["坏号码", "无公司", "别家", "怪角色"]
    ).exists()


def test_second_primary_is_refused_whole(rep_a, unit_a, two_accounts):
    rows = [
        ["甲", "13700137000", "", "", "", "", "是", make_uscc(7001), ""],
        ["乙", "13700137001", "", "", "", "", "是", make_uscc(7001), ""],
    ]
    result = run(csv_bytes(rows), user=rep_a, unit=unit_a)
    assert (result["created"], result["rejected"]) == (1, 1)
    assert result["errors"][0]["line"] == 3
    assert not Customer.objects.filter(display_name="乙").exists()


def test_dry_run_equals_import_and_rerun_is_idempotent(rep_a, unit_a, two_accounts):
    rows = [
        ["王芳", "13800138000", "", "经理", "", "决策者", "是", make_uscc(7001), ""],
        ["王芳", "13800138000", "", "", "", "", "", "", "月光贸易"],
        ["坏", "abc", "", "", "", "", "", make_uscc(7001), ""],
    ]
    data = csv_bytes(rows)
    predicted = run(data, user=rep_a, unit=unit_a, dry_run=True)
    assert Contact.objects.count() == 0
    done = run(data, user=rep_a, unit=unit_a)
    keys = ("received", "created", "created_known", "updated", "unchanged", "rejected", "errors")
    assert {k: predicted[k] for k in keys} == {k: done[k] for k in keys}
    assert (done["created"], done["created_known"], done["rejected"]) == (1, 1, 1)
    again = run(data, user=rep_a, unit=unit_a)
    assert (again["created"], again["created_known"], again["updated"], again["unchanged"]) == (
        0,
        0,
        0,
        2,
    )
    assert Contact.objects.count() == 2


def test_existing_contact_is_updated_not_duplicated(rep_a, unit_a, two_accounts):
    run(
        csv_bytes([["王芳", "13800138000", "", "经理", "", "决策者", "", make_uscc(7001), ""]]),
        user=rep_a,
        unit=unit_a,
    )
    result = run(
        csv_bytes(
            [["王芳", "13800138000", "", "总监", "采购部", "财务,法务", "是", make_uscc(7001), ""]]
        ),
        user=rep_a,
        unit=unit_a,
    )
    assert result["updated"] == 1
    contact = Contact.objects.get()
    assert (contact.title, contact.department, contact.is_primary) == ("总监", "采购部", True)
    assert {r.code for r in contact.roles.all()} == {"finance", "legal"}
