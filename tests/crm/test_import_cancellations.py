"""Cancellations that arrive before their original are linked when it arrives; none may
refund more than its original, whichever arrives first."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from crm import imports
from crm.models import Transaction, TransactionStatus
from tests.crm.import_files import _english_in_own_var  # noqa: F401

HEADER = ["订单号", "下单时间", "金额", "币种", "类型", "原订单号", "手机"]


def run(unit, rows, *, dry_run=False, batch_size=1000, source="pos"):
    out = io.StringIO(newline="")
    csv.writer(out).writerows([HEADER, *rows])
    return imports.run_transaction_import(
        business_unit=unit,
        source=source,
        data=out.getvalue().encode(),
        filename="orders.csv",
        channel="store",
        dry_run=dry_run,
        batch_size=batch_size,
    )


def warnings_of(result):
    return {w["code"]: (w["count"], w["lines"]) for w in result["warnings"]}


def test_a_cancellation_before_its_original_is_linked_when_the_original_arrives(unit_a):
    refunds = run(unit_a, [["C-1", "2024-05-03 10:00", "-30", "", "退货", "A-1", ""]])

    waiting = Transaction.objects.get(external_id="C-1")
    assert waiting.original is None and waiting.original_external_id == "A-1"
    assert waiting.customer is None
    assert refunds["cancellations"] == 1 and refunds["cancellations_linked"] == 0
    assert warnings_of(refunds) == {"cancellation_waiting": (1, [2])}

    orders = run(unit_a, [["A-1", "2024-05-01 10:00", "100", "", "购买", "", "13800138000"]])

    assert orders["cancellations_linked"] == 1 and orders["warnings"] == []
    waiting.refresh_from_db()
    original = Transaction.objects.get(external_id="A-1")
    assert waiting.original == original and waiting.customer == original.customer
    assert original.status == TransactionStatus.PARTLY_REFUNDED


def test_cancellations_that_would_exceed_a_late_original_are_left_unlinked_and_warned(unit_a):
    run(
        unit_a,
        [
            ["C-1", "2024-05-02 10:00", "-60", "", "退货", "A-1", ""],
            ["C-2", "2024-05-03 10:00", "-50", "", "退货", "A-1", ""],  # 110 > 100
            ["C-3", "2024-05-03 10:00", "-5", "USD", "退货", "A-1", ""],  # another currency
        ],
    )

    result = run(unit_a, [["A-1", "2024-05-01 10:00", "100", "", "", "", ""]])

    assert result["cancellations_linked"] == 1
    assert warnings_of(result) == {"late_cancellation_refused": (2, [2, 2])}
    assert "refund more than" in result["warnings"][0]["message"]
    linked = Transaction.objects.filter(original__external_id="A-1")
    assert list(linked.values_list("external_id", flat=True)) == ["C-1"]
    assert Transaction.objects.get(external_id="A-1").status == TransactionStatus.PARTLY_REFUNDED
    assert Transaction.objects.get(external_id="C-2").original is None


def test_a_cancellation_exceeding_a_stored_original_is_refused(unit_a):
    run(unit_a, [["A-1", "2024-05-01 10:00", "100", "", "", "", ""]])

    result = run(
        unit_a,
        [
            ["C-1", "2024-05-02 10:00", "-80", "", "退货", "A-1", ""],
            ["C-2", "2024-05-03 10:00", "-30", "", "退货", "A-1", ""],
        ],
    )

    assert [(e["line"], e["field"]) for e in result["errors"]] == [(3, "amount")]
    assert "only 20.00 of order A-1 remain" in result["errors"][0]["reason"]
    assert not Transaction.objects.filter(external_id="C-2").exists()


def test_within_one_file_a_cancellation_in_an_earlier_batch_is_linked(unit_a):
    rows = [
        ["C-1", "2024-05-02 10:00", "-100", "", "退货", "A-1", ""],
        ["X-1", "2024-05-02 10:00", "5", "", "", "", ""],
        ["A-1", "2024-05-01 10:00", "100", "", "", "", ""],
    ]

    result = run(unit_a, rows, batch_size=1)

    assert (result["created"], result["cancellations"], result["cancellations_linked"]) == (
        3,
        1,
        1,
    )
    assert result["warnings"] == []  # it waited, but not past the end of the file
    assert Transaction.objects.get(external_id="A-1").status == TransactionStatus.REFUNDED
    assert Transaction.objects.get(external_id="C-1").amount == Decimal("-100.00")
