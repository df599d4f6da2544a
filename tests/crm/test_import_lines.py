"""Line-level files (one row per order line, the order id repeated) become one order per id,
and an order id stored before with other content is refused, saying what differs."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from decimal import Decimal
from itertools import islice
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db.models import Sum

from crm import imports
from crm.models import Customer, Transaction, TransactionKind
from tests.crm.import_files import _english_in_own_var, csv_bytes  # noqa: F401

RETAIL = Path("/work/shared/data/online_retail_30k.csv")
UK = imports.ImportOptions(time_zone="Europe/London", currency="GBP")


def run(unit, data, *, options=UK, dry_run=False, source="online_retail", filename="x.csv"):
    return imports.run_transaction_import(
        business_unit=unit,
        source=source,
        data=data,
        filename=filename,
        channel="online_mall",
        dry_run=dry_run,
        options=options,
    )


def errors_at(result):
    return [(e["line"], e["field"]) for e in result["errors"]]


def retail_head(count: int) -> tuple[bytes, list[dict[str, str]]]:
    with RETAIL.open(newline="") as f:
        rows = list(islice(csv.DictReader(f), count))
    header = list(rows[0])
    return csv_bytes(header, [[r[h] for h in header] for r in rows]), rows


def test_the_online_retail_export_keeps_every_line_and_all_the_money(unit_a):
    data, rows = retail_head(4000)
    invoices: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        invoices[row["InvoiceNo"]].append(row)

    def total(lines):
        return sum(Decimal(r["Quantity"]) * Decimal(r["UnitPrice"]) for r in lines)

    # What an independent reading says is importable: a sale with a positive total, a return
    # ("C" invoice, every quantity negative) with a negative one, prices never below zero.
    good = {
        number: lines
        for number, lines in invoices.items()
        if all(Decimal(r["UnitPrice"]) >= 0 for r in lines)
        and (total(lines) > 0 if not number.startswith("C") else total(lines) < 0)
    }

    result = run(unit_a, data)

    assert result["received"] == 4000
    assert result["created"] == len(good) and result["lines"] == sum(map(len, good.values()))
    assert result["cancellations"] == sum(1 for n in good if n.startswith("C"))
    assert result["rejected"] == len(invoices) - len(good)
    stored = Transaction.objects.aggregate(s=Sum("amount"))["s"]
    assert stored == sum(total(lines) for lines in good.values())
    assert result["guests"] == sum(1 for lines in good.values() if not lines[0]["CustomerID"])
    customers = {lines[0]["CustomerID"] for lines in good.values() if lines[0]["CustomerID"]}
    assert Customer.objects.count() == result["customers_created"] == len(customers)
    sample = next(n for n, lines in good.items() if len(lines) > 2)
    order = Transaction.objects.get(external_id=sample)
    assert order.amount == total(good[sample]) and len(order.lines) == len(good[sample])
    assert order.currency == "GBP" and order.lines[0].keys() >= {"sku", "quantity", "amount"}
    assert order.customer.identities.get().value == (
        f"online_retail:{good[sample][0]['CustomerID'].removesuffix('.0')}"
    )


HEADER = ["订单号", "下单时间", "会员号", "商品编码", "商品名称", "数量", "单价", "订单金额"]


def test_rows_of_one_order_become_one_order_wherever_they_are(unit_a):
    rows = [
        ["O-1", "2024-05-01 10:00", "7", "A", "茶杯", "2", "15.00", ""],
        ["O-2", "2024-05-01 11:00", "8", "B", "茶壶", "1", "99.90", "99.90"],
        ["O-1", "2024-05-01 10:00", "7", "C", "茶叶", "3", "10.50", ""],
        ["O-3", "2024-05-01 12:00", "", "D", "礼盒", "1", "20.00", "25.00"],  # amount ≠ lines
        ["O-1", "2024-05-01 10:01", "7", "A", "茶杯", "1", "15.00", ""],  # a minute later
    ]

    result = run(unit_a, csv_bytes(HEADER, rows), source="pos")

    assert errors_at(result) == [(5, "amount")]
    assert "not the sum of its lines (20.00)" in result["errors"][0]["reason"]
    assert (result["created"], result["lines"], result["received"]) == (2, 4, 5)
    order = Transaction.objects.get(external_id="O-1")
    assert order.amount == Decimal("76.50") and [x["sku"] for x in order.lines] == ["A", "C", "A"]
    assert order.lines[1] == {
        "sku": "C",
        "description": "茶叶",
        "quantity": 3,
        "unit_price": "10.50",
        "amount": "31.50",
    }
    assert order.occurred_at.isoformat() == "2024-05-01T09:00:00+00:00"  # the earliest line
    (warning,) = result["warnings"]
    assert (warning["code"], warning["lines"]) == ("order_times_differ", [2])


def test_a_bad_line_keeps_its_whole_order_out_and_says_so(unit_a):
    rows = [
        ["B-1", "2024-05-01 10:00", "7", "A", "茶杯", "2", "15.00", ""],
        ["B-1", "2024-05-01 10:00", "7", "B", "茶壶", "two", "10.00", ""],
        ["B-2", "2024-05-01 10:00", "7", "A", "茶杯", "1", "-3", ""],
        ["B-3", "2024-05-01 10:00", "7", "A", "茶杯", "1", "5", ""],
        ["B-3", "2024-05-01 10:00", "8", "A", "茶杯", "1", "5", ""],  # another customer
        ["B-4", "2024-05-01 10:00", "7", "A", "茶杯", "-1", "5", ""],
        ["B-4", "2024-05-01 10:00", "7", "B", "茶壶", "2", "5", ""],  # a sale in a return
    ]

    result = run(unit_a, csv_bytes(HEADER, rows), source="pos")

    assert errors_at(result) == [
        (3, "quantity"),
        (4, "unit_price"),
        (6, "customer_external_id"),
        (7, "quantity"),
    ]
    assert result["errors"][0]["reason"].endswith("The order (2 lines) was not imported.")
    assert result["created"] == 0 and not Transaction.objects.exists()


def test_a_return_invoice_with_negative_quantities_is_a_cancellation(unit_a):
    header = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
    rows = [
        ["536365", "85123A", "6", "2010-12-01 08:26", "2.55", "17850.0"],
        ["C536379", "85123A", "-2", "2010-12-01 09:41", "2.55", "17850.0"],
        ["C536379", "D", "-1", "2010-12-01 09:41", "27.50", "17850.0"],
    ]

    result = run(unit_a, csv_bytes(header, rows))

    assert result["errors"] == [] and result["cancellations"] == 1
    refund = Transaction.objects.get(external_id="C536379")
    assert refund.kind == TransactionKind.CANCELLATION and refund.amount == Decimal("-32.60")
    assert refund.customer == Transaction.objects.get(external_id="536365").customer


def test_an_order_stored_before_is_a_duplicate_or_a_conflict_that_says_what_differs(unit_a):
    rows = [
        ["R-1", "2024-05-01 10:00", "7", "A", "茶杯", "2", "15.00", ""],
        ["R-1", "2024-05-01 10:00", "7", "B", "茶壶", "1", "10.00", ""],
        ["R-2", "2024-05-01 11:00", "7", "A", "茶杯", "1", "15.00", ""],
        ["R-3", "2024-05-01 12:00", "7", "A", "茶杯", "1", "15.00", ""],
        ["R-4", "2024-05-01 13:00", "7", "A", "茶杯", "1", "15.00", ""],
    ]
    run(unit_a, csv_bytes(HEADER, rows), source="pos")
    again = [
        *rows[:2],  # the same order: a duplicate
        ["R-2", "2024-05-01 11:00", "7", "A", "茶杯", "2", "15.00", ""],  # other amount
        ["R-3", "2024-05-01 12:30", "7", "A", "茶杯", "1", "15.00", ""],  # other time
        ["R-4", "2024-05-01 13:00", "9", "A", "茶杯", "1", "15.00", ""],  # other customer
        ["R-1", "2024-05-01 10:00", "7", "C", "茶叶", "0.5", "40", ""],  # a third line
    ]

    result = run(unit_a, csv_bytes(HEADER, again), source="pos")

    assert errors_at(result) == [
        (2, "amount"),
        (4, "amount"),
        (5, "occurred_at"),
        (6, "customer_external_id"),
    ]
    assert "different amount (stored: 40.00; here: 60.00)" in result["errors"][0]["reason"]
    assert "already stored for another customer" in result["errors"][3]["reason"]
    assert result["duplicates"] == 0 and Transaction.objects.count() == 4
    assert run(unit_a, csv_bytes(HEADER, rows), source="pos")["duplicates"] == 4


def test_an_order_level_file_repeating_an_order_id(unit_a):
    header = ["订单号", "下单时间", "金额", "手机"]
    rows = [
        ["Q-1", "2024-05-01 10:00", "10", "13800138000"],
        ["Q-1", "2024-05-01 10:00", "10.00", "13800138000"],  # the same order again
        ["Q-1", "2024-05-01 10:00", "12", "13800138000"],  # another order under its id
    ]
    result = run(unit_a, csv_bytes(header, rows), source="pos")
    assert (result["created"], result["duplicates"]) == (1, 1)
    assert errors_at(result) == [(4, "amount")]


def test_the_command_reads_a_line_level_file_twice_from_disk(unit_a, tmp_path):
    data, rows = retail_head(600)
    path = tmp_path / "retail.csv"
    path.write_bytes(data)
    out = io.StringIO()

    call_command(
        "import_transactions",
        str(path),
        unit=unit_a.code,
        source="online_retail",
        time_zone="Europe/London",
        currency="GBP",
        batch_size=50,
        stdout=out,
        stderr=io.StringIO(),
    )

    in_memory = run(unit_a, data)
    assert in_memory["created"] == 0 and "created=" in out.getvalue()
    assert in_memory["duplicates"] == Transaction.objects.count()
    assert Transaction.objects.aggregate(n=Sum("amount"))["n"] == sum(
        Decimal(r["Quantity"]) * Decimal(r["UnitPrice"])
        for r in rows
        if r["InvoiceNo"] in set(Transaction.objects.values_list("external_id", flat=True))
    )


def test_a_file_with_json_lines_and_line_columns_is_refused(unit_a):
    header = ["订单号", "下单时间", "金额", "明细", "数量", "单价"]
    with pytest.raises(imports.ImportFileError, match="keep one"):
        run(unit_a, csv_bytes(header, [["X", "2024-05-01", "1", "[]", "1", "1"]]))


def test_an_amount_column_of_a_line_level_file_may_be_each_lines_amount(unit_a):
    header = ["订单号", "下单时间", "商品名称", "数量", "单价", "金额"]
    rows = [
        ["P-1", "2024-05-01 10:00", "茶杯", "2", "15", "30"],
        ["P-1", "2024-05-01 10:00", "茶叶", "1", "40", "40"],
        ["P-2", "2024-05-01 11:00", "茶杯", "1", "15", "15"],
        ["P-2", "2024-05-01 11:00", "茶叶", "1", "40", "50"],  # neither the total nor the line
    ]
    result = run(unit_a, csv_bytes(header, rows), source="pos")
    assert errors_at(result) == [(4, "amount")]
    assert Transaction.objects.get(external_id="P-1").amount == Decimal("70.00")

    only_amounts = [
        ["Q-1", "2024-05-01 10:00", "茶杯", "30"],
        ["Q-1", "2024-05-01 10:00", "茶叶", "40"],
    ]
    header = ["订单号", "下单时间", "商品名称", "金额"]
    result = run(unit_a, csv_bytes(header, only_amounts), source="pos")
    order = Transaction.objects.get(external_id="Q-1")
    assert result["errors"] == [] and order.amount == Decimal("70.00")
    assert order.lines == [
        {"description": "茶杯", "amount": "30"},
        {"description": "茶叶", "amount": "40"},
    ]


def test_a_mapping_naming_unknown_or_shared_columns_is_refused(unit_a):
    data = csv_bytes(["a", "b", "c"], [["1", "2024-05-01", "3"]])
    for mapping in (
        {"external_id": 0, "occurred_at": 1, "amount": 2, "colour": 2},
        {"external_id": 0, "occurred_at": 1, "amount": 1},
    ):
        with pytest.raises(imports.ImportFileError):
            run(unit_a, data, options=imports.ImportOptions(mapping=mapping))


GBK_ROWS = [
    ["G-1", "2024-05-01 10:00", "13800138000", "A-1", "龙井茶叶", "2", "88.00"],
    ["G-2", "2024-05-01 11:00", "13900139000", "B-1", "紫砂壶", "1", "399.00"],
    ["G-1", "2024-05-01 10:00", "13800138000", "B-2", "茶盘", "1", "120.50"],
]
GBK_HEADER = ["订单号", "下单时间", "手机", "商品编码", "商品名称", "数量", "单价"]


def test_a_gbk_line_level_upload_runs_as_a_job_from_disk(unit_a):
    data = "\r\n".join(",".join(row) for row in [GBK_HEADER, *GBK_ROWS]).encode("gbk")
    name = imports.store_upload([data], filename="订单.csv")
    params = {"upload": name, "filename": "订单.csv", "business_unit_id": unit_a.pk}

    class Context:
        def __init__(self):
            self.params = {**params, "source": "pos", "channel": "store"}
            self.job = SimpleNamespace(pk=uuid.uuid4())  # names the kept error report

        def progress(self, percent, message=""):
            pass

        def check_cancelled(self):
            pass

    result = imports.import_transactions_job(Context())  # streamed from disk, read twice

    assert result["encoding"] == "gb18030" and result["errors"] == []
    assert (result["created"], result["lines"], result["customers_created"]) == (2, 3, 2)
    order = Transaction.objects.get(external_id="G-1")
    assert order.amount == Decimal("296.50") and order.lines[0]["description"] == "龙井茶叶"


def test_an_xlsx_line_level_workbook_is_read_twice(unit_a):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(GBK_HEADER)
    for row in GBK_ROWS:
        sheet.append([*row[:5], int(row[5]), float(row[6])])
    out = io.BytesIO()
    book.save(out)

    result = run(unit_a, out.getvalue(), filename="orders.xlsx", source="pos")

    assert result["format"] == "xlsx" and result["errors"] == []
    assert Transaction.objects.get(external_id="G-1").amount == Decimal("296.50")
