"""Importing members: a GBK file with Chinese headers, people found on the master by phone or
WeChat id, enrolled once, levels raised, opening balances written as ``adjust`` entries with
their expiry through the points service; a bad row among good ones; the dry run is the
import; a second run changes nothing; the screens with the job and its progress."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.urls import reverse

from crm.imports.record_jobs import get_importer, run_record_import
from crm.models import Customer, Identity, Job, JobStatus, TimelineEvent
from crm.roles import SALES_REP
from crm.services import IdentityInput, resolve_customer
from members.imports.members import OPENING_REASON
from members.models import EntryKind, Level, Member, PointsEntry, PointsLot
from tests.factories import UserFactory
from tests.members.conftest import assert_ledger_consistent

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = [
    "手机号",
    "姓名",
    "入会单位",
    "入会渠道",
    "入会时间",
    "会员等级",
    "积分余额",
    "积分到期日",
    "原会员号",
]


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def members_file(rows: list[list[str]], encoding: str = "gbk", header=HEADER) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode(encoding)


def run(data: bytes, *, user: Any, unit: Any, dry_run: bool = False) -> dict[str, Any]:
    return run_record_import(
        importer=get_importer("members"),
        business_unit=unit,
        user=user,
        filename="members.csv",
        dry_run=dry_run,
        data=data,
    )


def good_rows() -> list[list[str]]:
    return [
        [
            "13811110001",
            "王芳",
            "AUTO",
            "门店",
            "2021-05-01",
            "银卡会员",
            "1200",
            "2030-12-31",
            "A1",
        ],
        ["13811110002", "李强", "星辰物业", "tmall", "2023/11/11", "", "300", "", "A2"],
        ["13811110003", "赵敏", "", "", "", "gold", "", "", ""],
    ]


def state() -> list[tuple[Any, ...]]:
    """Everything an import writes, to compare two runs."""
    members = list(
        Member.objects.order_by("number").values_list(
            "number",
            "customer_id",
            "enrolled_business_unit_id",
            "channel",
            "level__code",
            "points_balance",
        )
    )
    entries = list(
        PointsEntry.objects.order_by("id").values_list("member_id", "kind", "points", "reference")
    )
    return [*members, *entries, Customer.objects.count(), Identity.objects.count()]


def test_gbk_file_with_chinese_headers_enrols_and_grants_opening_balances(
    desk, unit_a, unit_b, rules
):
    desk.business_units.add(unit_b)
    result = run(members_file(good_rows()), user=desk, unit=unit_a)
    assert result["encoding"] == "gb18030" or result["encoding"] == "gbk", result
    assert (result["received"], result["enrolled"], result["rejected"]) == (3, 3, 0), result

    wang = Member.objects.get(customer__identities__value="+8613811110001")
    assert wang.customer.display_name == "王芳"
    assert (wang.enrolled_business_unit, wang.channel, wang.level.code) == (
        unit_a,
        "store",
        "silver",
    )
    assert wang.enrolled_at == datetime(2021, 5, 1, tzinfo=SHANGHAI)
    entry = PointsEntry.objects.get(member=wang)  # no enrolment bonus on an import
    assert (entry.kind, entry.points, entry.reason, entry.business_unit) == (
        EntryKind.ADJUST,
        1200,
        OPENING_REASON,
        unit_a,
    )
    assert entry.reference == "import-opening:A1" and entry.actor == desk
    lot = PointsLot.objects.get(member=wang)
    assert (lot.amount, lot.remaining) == (1200, 1200)
    assert lot.expires_at == datetime(2031, 1, 1, tzinfo=SHANGHAI)  # valid through 31 December
    assert TimelineEvent.objects.filter(customer=wang.customer, type="points.adjusted").exists()

    li = Member.objects.get(customer__identities__value="+8613811110002")
    assert (li.enrolled_business_unit, li.channel, li.points_balance) == (unit_b, "tmall", 300)
    assert PointsLot.objects.get(member=li).funding_business_unit == unit_b
    zhao = Member.objects.get(customer__identities__value="+8613811110003")
    assert (zhao.enrolled_business_unit, zhao.level.code, zhao.points_balance) == (
        unit_a,
        "gold",
        0,
    )
    for member in (wang, li, zhao):
        assert_ledger_consistent(member)


def test_a_bad_row_among_good_ones_is_reported_and_the_good_ones_are_kept(desk, unit_a, rules):
    rows = [
        good_rows()[0],
        ["12345", "坏号码", "", "", "", "", "10", "", ""],
        ["13811110004", "过期", "", "", "", "", "50", "2020-01-01", ""],
        ["13811110005", "单位", "XYZ", "", "", "", "", "", ""],
        ["13811110006", "积分", "", "", "", "", "1.5", "", ""],
        ["13811110007", "等级", "", "", "", "铂金", "", "", ""],
        good_rows()[2],
    ]
    result = run(members_file(rows), user=desk, unit=unit_a)
    assert (result["enrolled"], result["rejected"]) == (2, 5), result
    by_line = {e["line"]: (e["field"], e["reason"]) for e in result["errors"]}
    assert set(by_line) == {3, 4, 5, 6, 7}
    assert [by_line[line][0] for line in (3, 4, 5, 6, 7)] == [
        "phone",
        "expires_at",
        "business_unit",
        "points",
        "level",
    ]
    assert all(reason for _field, reason in by_line.values())
    assert result["errors"][0]["external_id"] == "坏号码"
    # the row refused in the ledger (an expiry in the past) is rolled back whole
    assert not Identity.objects.filter(value="+8613811110004").exists()
    assert Member.objects.count() == 2


def test_dry_run_predicts_the_import_exactly_and_writes_nothing(desk, unit_a, unit_b, rules):
    desk.business_units.add(unit_b)
    rows = [*good_rows(), ["999", "坏", "", "", "", "", "", "", ""]]
    data = members_file(rows)
    before = state()
    predicted = run(data, user=desk, unit=unit_a, dry_run=True)
    assert state() == before
    outcome = run(data, user=desk, unit=unit_a)
    for key in ("received", "enrolled", "updated", "unchanged", "rejected", "errors"):
        assert predicted[key] == outcome[key], key
    assert outcome["enrolled"] == 3 and outcome["rejected"] == 1


def test_re_import_is_idempotent_and_existing_members_are_not_enrolled_twice(
    desk, unit_a, unit_b, rules, make_member
):
    desk.business_units.add(unit_b)
    existing = make_member(phone="+8613811110003")  # enrolled at the desk before the import
    bonus = existing.points_balance
    data = members_file(good_rows())
    first = run(data, user=desk, unit=unit_a)
    assert (first["enrolled"], first["updated"]) == (2, 1), first  # its level raised to gold
    after_first = state()
    second = run(data, user=desk, unit=unit_a)
    assert (second["enrolled"], second["updated"], second["unchanged"]) == (0, 0, 3), second
    assert state() == after_first
    assert Member.objects.count() == 3
    existing.refresh_from_db()
    assert (existing.level.code, existing.points_balance) == ("gold", bonus)
    total = PointsEntry.objects.filter(reason=OPENING_REASON).aggregate(s=Sum("points"))["s"]
    assert total == 1500


def test_opening_balance_of_an_existing_member_is_granted_once_and_the_level_never_lowered(
    desk, unit_a, rules, make_member
):
    member = make_member(phone="+8613811110009")
    gold = Level.objects.get(code="gold")
    member.level = gold
    member.save(update_fields=["level"])
    row = ["13811110009", "", "", "", "", "silver", "500", "", ""]
    first = run(members_file([row]), user=desk, unit=unit_a)
    assert first["updated"] == 1
    member.refresh_from_db()
    assert member.level == gold
    reference = f"import-opening:{member.number}"
    assert PointsEntry.objects.get(member=member, reference=reference).points == 500
    again = run(members_file([row]), user=desk, unit=unit_a)
    assert again["unchanged"] == 1
    assert_ledger_consistent(member)


def test_one_previous_number_for_two_people_is_refused_on_the_second(desk, unit_a, rules):
    rows = [
        ["13811110021", "甲", "", "", "", "", "100", "", "DUP"],
        ["13811110022", "乙", "", "", "", "", "100", "", "DUP"],
    ]
    result = run(members_file(rows), user=desk, unit=unit_a)
    assert (result["enrolled"], result["rejected"]) == (1, 1)
    assert result["errors"][0]["field"] == "legacy_number"
    assert not Identity.objects.filter(value="+8613811110022").exists()


def test_a_person_the_master_knows_is_enrolled_not_duplicated(desk, unit_a, rules):
    known = resolve_customer(
        identities=[IdentityInput("mobile", "+8613811110031")],
        attributes={"display_name": "老客户"},
        source="erp",
    ).customer
    rows = [["138 1111 0031", "新名字", "", "小程序", "", "", "", "", ""]]
    result = run(members_file(rows, encoding="utf-8-sig"), user=desk, unit=unit_a)
    assert result["enrolled"] == 1
    member = Member.objects.get()
    assert member.customer_id == known.pk and member.channel == "wechat_mini"
    assert Customer.objects.count() == 1


def test_screens_upload_dry_run_then_import_through_the_job(
    client, desk, unit_a, rules, django_capture_on_commit_callbacks
):
    client.force_login(desk)
    page = client.get(reverse("members:desk")).content.decode()
    assert 'data-testid="member-import"' in page
    response = client.post(
        reverse("members:import"),
        {
            "kind": "members",
            "business_unit": unit_a.pk,
            "file": SimpleUploadedFile(
                "m.csv", members_file([good_rows()[2], ["1", "坏", *[""] * 7]])
            ),
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    mapping = client.get(response.url)
    form = mapping.context["form"]
    assert form["col_phone"].value() == 0 and form["col_points"].value() == 6
    fields = {
        f"col_{c}": str(i)
        for i, c in enumerate(
            [
                "phone",
                "name",
                "business_unit",
                "channel",
                "enrolled_at",
                "level",
                "points",
                "expires_at",
                "legacy_number",
            ]
        )
    }
    with django_capture_on_commit_callbacks(execute=True):
        dry = client.post(response.url, {**fields, "action": "dry_run"})
    job = Job.objects.get()
    assert job.kind == "members.import_members" and job.status == JobStatus.SUCCEEDED
    assert job.progress == 100 and (job.result["enrolled"], job.result["rejected"]) == (1, 1)
    assert not Member.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("record-import-confirm", args=[job.pk]))
    done = Job.objects.exclude(pk=job.pk).get()
    assert done.status == JobStatus.SUCCEEDED and done.result["enrolled"] == 1
    assert Member.objects.count() == 1
    template = client.get(reverse("members:import-template", args=["members", "csv"]))
    assert template.status_code == 200 and "手机" in template.content.decode("utf-8-sig")
    assert dry.status_code == 302


def test_only_the_roles_allowed_see_the_button_and_the_screens(client, unit_a, rules):
    rep = UserFactory(username="rep", roles=[SALES_REP], units=[unit_a])
    client.force_login(rep)
    assert client.get(reverse("members:import")).status_code == 403
