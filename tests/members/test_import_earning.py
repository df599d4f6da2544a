"""Orders imported from a file earn points for members whichever path stores them: the bulk
path (set-based, ``crm.services.transaction_bulk``) tells the apps after the commit exactly as
the service path does, once per stored order; a re-import and a dry run tell nobody."""

from __future__ import annotations

import csv
import io

import pytest
from django.db.models import Sum
from django.utils import translation

from crm import imports, registry
from crm.services import transaction_bulk_writes
from members.models import EntryKind, PointsEntry
from tests.members.conftest import assert_ledger_consistent

pytestmark = pytest.mark.django_db
HEADER = ["订单号", "下单时间", "金额", "手机", "姓名"]


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    with translation.override("en"):
        yield


@pytest.fixture
def told(monkeypatch):
    """Every call of the master's transaction hooks (the members' hook stays in place)."""
    calls: list[list[int]] = []
    monkeypatch.setitem(registry._transaction_hooks, "test.spy", calls.append)
    return calls


def orders_file(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode()


def run(unit, data, *, bulk: bool, dry_run: bool = False):
    return imports.import_table(
        imports.read_upload(data, filename="orders.csv"),
        business_unit=unit,
        source="pos",
        channel="store",
        bulk=bulk,
        dry_run=dry_run,
    ).as_dict()


def earned(member) -> int:
    entries = PointsEntry.objects.filter(member=member, kind=EntryKind.EARN).exclude(
        reason="enrolment"
    )
    return entries.aggregate(s=Sum("points"))["s"] or 0


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "service"])
def test_imported_orders_earn_exactly_once_on_both_paths(
    bulk, make_member, unit_a, told, monkeypatch, django_capture_on_commit_callbacks
):
    flushed: list[int] = []
    original_flush = transaction_bulk_writes._flush

    def counting_flush(cursor, unit, source, plan, parts, other):
        flushed.append(len(plan.batches))
        return original_flush(cursor, unit, source, plan, parts, other)

    monkeypatch.setattr("crm.services.transaction_bulk._flush", counting_flush)
    member = make_member(phone="+8613911112222")
    other = make_member(phone="+8613911113333")
    rows = [
        ["P-1", "2026-03-01 10:00", "100.00", "13911112222", "张三"],
        ["P-2", "2026-03-02 10:00", "58.50", "13911112222", "张三"],
        ["P-3", "2026-03-02 11:00", "20", "13911113333", "李四"],
        ["P-4", "2026-03-02 12:00", "70", "13700000000", "路人"],  # not a member
        ["P-5", "2026-03-02 13:00", "45", "", ""],  # a guest
    ]
    data = orders_file(rows)

    with django_capture_on_commit_callbacks(execute=True):
        result = run(unit_a, data, bulk=bulk, dry_run=True)
    assert result["created"] == 5 and told == [] and earned(member) == 0

    with django_capture_on_commit_callbacks(execute=True):
        result = run(unit_a, data, bulk=bulk)
    assert result["created"] == 5
    assert any(flushed) == bulk  # the bulk path stored them set-based
    stored = sorted(pk for ids in told for pk in ids)
    assert len(stored) == len(set(stored)) == 4  # each known customer's order told once
    assert (earned(member), earned(other)) == (158, 20)  # 1 point per yuan, rounded down

    with django_capture_on_commit_callbacks(execute=True):
        again = run(unit_a, data, bulk=bulk)
    assert again["duplicates"] == 5
    assert sorted(pk for ids in told for pk in ids) == stored
    assert (earned(member), earned(other)) == (158, 20)
    assert PointsEntry.objects.filter(member=member, kind=EntryKind.EARN).count() == 2
    assert_ledger_consistent(member)
