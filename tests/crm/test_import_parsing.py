"""Reading a file's cells under its options: decimal marks, currencies, spreadsheet ids, time
zones; and what ``inspect_table`` tells the form before anything is imported."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st

from crm import imports
from crm.imports.numbers import AmountError, IdError
from crm.models import Customer, Transaction
from tests.crm.import_files import _english_in_own_var, csv_bytes  # noqa: F401

RETAIL = Path("/work/shared/data/online_retail_30k.csv")
LONDON = ZoneInfo("Europe/London")


def run(unit, data, *, options=None, dry_run=False, source="pos"):
    return imports.run_transaction_import(
        business_unit=unit,
        source=source,
        data=data,
        filename="orders.csv",
        channel="store",
        dry_run=dry_run,
        options=options,
    )


# --- Amounts under a decimal convention -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mark", "expected"),
    [
        ("12.50", ".", "12.50"),
        ("1,234.50", ".", "1234.50"),
        ("1,234", ".", "1234"),
        ("1,234,567.8", ".", "1234567.8"),
        ("￥1,234.50", ".", "1234.50"),
        ("-¥12.5", ".", "-12.5"),
        ("(12.50)", ".", "-12.50"),
        ("12,50", ",", "12.50"),
        ("1.234,50", ",", "1234.50"),
        ("1.234", ",", "1234"),
        ("1 234,50", ",", "1234.50"),
        ("€ 3,5", ",", "3.5"),
        ("12,345", ",", "12.345"),  # three decimals under the comma: kept exact, never rounded
    ],
)
def test_amounts_are_read_under_the_files_decimal_mark(text, mark, expected):
    assert imports.parse_amount(text, mark) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "mark", "reason"),
    [
        ("12,5", ".", "ambiguous"),
        ("12,50", ".", "ambiguous"),
        ("1234,567", ".", "ambiguous"),
        ("1.234,50", ".", "ambiguous"),
        ("12.50", ",", "ambiguous"),
        ("1,234.50", ",", "ambiguous"),
        ("1 23 456", ".", "grouped by three"),
        ("ten", ".", "not a number"),
        ("1e5", ".", "not a number"),
        ("", ".", "not a number"),
        ("1.2.3", ".", "not a number"),
    ],
)
def test_an_amount_the_convention_cannot_read_is_refused_with_a_reason(text, mark, reason):
    with pytest.raises(AmountError, match=reason):
        imports.parse_amount(text, mark)


MONEY = st.decimals(min_value=-(10**10), max_value=10**10, places=2)


def comma_style(text: str) -> str:
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


@given(MONEY)
def test_grouped_amounts_round_trip_under_both_conventions(amount):
    point = f"{amount:,}"
    assert imports.parse_amount(point, ".") == amount
    assert imports.parse_amount(comma_style(point), ",") == amount
    assert imports.parse_amount(f"{amount}", ".") == amount
    assert imports.parse_amount(f"{amount}".replace(".", ","), ",") == amount


@given(st.integers(0, 10**6), st.integers(1, 99))
def test_a_decimal_comma_under_the_decimal_point_is_never_read_as_thousands(whole, cents):
    text = f"{whole},{cents}"
    with pytest.raises(AmountError):
        imports.parse_amount(text, ".")
    assert imports.parse_amount(text, ",") == Decimal(f"{whole}.{cents}")


@given(st.text(max_size=20), st.sampled_from([".", ","]))
def test_any_text_is_a_number_or_a_reason(text, mark):
    try:
        number = imports.parse_amount(text, mark)
    except AmountError as exc:
        assert str(exc)
    else:
        assert number.is_finite()


def test_the_decimal_mark_is_detected_from_the_data_with_its_evidence():
    assert imports.detect_decimal_mark(["12.50", "3", "1,234.00"]) == (
        ".",
        {".": 2, ",": 0, "ambiguous": 0, "plain": 1},
    )
    mark, evidence = imports.detect_decimal_mark(["12,50", "1.234,5", "7,9", "1.234"])
    assert mark == "," and evidence[","] == 3 and evidence["ambiguous"] == 1
    assert imports.detect_decimal_mark(["1,234", "5", 12.5, None])[0] is None  # undecidable
    assert imports.detect_decimal_mark(["1.234.567"])[0] == ","


@given(st.lists(MONEY.filter(lambda d: d != d.to_integral_value()), min_size=1, max_size=30))
def test_detection_proposes_the_convention_a_file_was_written_in(amounts):
    as_comma = [comma_style(f"{a:,}") for a in amounts]
    as_point = [f"{a:,}" for a in amounts]
    assert imports.detect_decimal_mark(as_comma)[0] == ","
    assert imports.detect_decimal_mark(as_point)[0] == "."


def test_a_decimal_comma_file_stores_the_right_amounts(unit_a):
    header = ["Bestellnummer", "order_time", "Betrag"]
    data = csv_bytes(
        ["order_id", "order_time", "amount"],
        [["D-1", "2024-05-01 10:00", "12,50"], ["D-2", "2024-05-01 11:00", "1.234,50"]],
        delimiter=";",
    )
    assert header  # the file's own names are mapped by the form; here English names

    wrong = run(unit_a, data, dry_run=True)
    assert [(e["line"], e["field"]) for e in wrong["errors"]] == [(2, "amount"), (3, "amount")]
    assert "ambiguous" in wrong["errors"][0]["reason"]

    result = run(unit_a, data, options=imports.ImportOptions(decimal_mark=","))

    assert result["errors"] == [] and result["decimal_mark"] == ","
    stored = dict(Transaction.objects.values_list("external_id", "amount"))
    assert stored == {"D-1": Decimal("12.50"), "D-2": Decimal("1234.50")}


# --- Currencies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("RMB", "CNY"),
        ("元", "CNY"),
        ("人民币", "CNY"),
        ("¥", "CNY"),
        ("￥", "CNY"),
        ("£", "GBP"),
        ("英镑", "GBP"),
        ("€", "EUR"),
        ("欧元", "EUR"),
        ("US$", "USD"),
        ("美元", "USD"),
        ("HK$", "HKD"),
        ("港币", "HKD"),
        ("港元", "HKD"),
        ("日元", "JPY"),
        ("gbp", "GBP"),
        (" cny ", "CNY"),
    ],
)
def test_currency_aliases_map_to_iso_codes(cell, code):
    assert imports.parse_currency(cell) == code


def test_currencies_in_a_file_aliases_errors_and_the_default(unit_a):
    data = csv_bytes(
        ["订单号", "下单时间", "金额", "币种"],
        [
            ["R-1", "2024-05-01 10:00", "10", "RMB"],
            ["R-2", "2024-05-01 10:00", "10", "元"],
            ["R-3", "2024-05-01 10:00", "10", "£"],
            ["R-4", "2024-05-01 10:00", "10", "ABC"],  # three letters, but no currency
            ["R-5", "2024-05-01 10:00", "10", "dollars"],
            ["R-6", "2024-05-01 10:00", "10", ""],  # empty: the form's currency
        ],
    )

    result = run(unit_a, data, options=imports.ImportOptions(currency="HKD"))

    assert [(e["line"], e["field"]) for e in result["errors"]] == [(5, "currency"), (6, "currency")]
    assert "ISO 4217" in result["errors"][0]["reason"]
    stored = dict(Transaction.objects.values_list("external_id", "currency"))
    assert stored == {"R-1": "CNY", "R-2": "CNY", "R-3": "GBP", "R-6": "HKD"}
    assert result["currency"] == "HKD"


def test_options_refuse_an_unknown_currency_or_zone_and_read_aliases():
    assert imports.ImportOptions(currency="rmb").currency == "CNY"
    with pytest.raises(imports.ImportFileError):
        imports.ImportOptions(currency="XYZ")
    with pytest.raises(imports.ImportFileError):
        imports.ImportOptions(time_zone="Mars/Base")
    with pytest.raises(imports.ImportFileError):
        imports.ImportOptions(decimal_mark=";")


# --- Ids a spreadsheet wrote as numbers ---------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected", "rounded"),
    [
        ("12347.0", "12347", False),
        ("12347.00", "12347", False),
        ("1.2347E4", "12347", False),
        ("1.2347e+04", "12347", False),
        (12347.0, "12347", False),
        (12347, "12347", False),
        ("12347.5", "12347.5", False),  # not integral: an id with a dot, kept as written
        ("2024.05", "2024.05", False),
        ("A-12", "A-12", False),
        ("123456789012345000", "123456789012345000", True),
        ("1.23456789012345E+17", "123456789012345000", True),
        (1.2345678901234567e17, "123456789012345660", True),
        ("12345678901234567", "12345678901234567", False),  # long, but not ending in zeros
    ],
)
def test_spreadsheet_numbers_in_id_columns_are_normalized(cell, expected, rounded):
    assert imports.normalize_id(cell) == (expected, rounded)


def test_scientific_notation_that_lost_digits_is_refused():
    with pytest.raises(IdError, match="scientific notation"):
        imports.normalize_id("1.38001E+10")


@given(st.integers(1, 10**14 - 1))
def test_integral_ids_written_as_floats_are_the_integer(number):
    assert imports.normalize_id(f"{number}.0") == (str(number), False)
    assert imports.normalize_id(float(number)) == (str(number), False)
    digits = str(number)
    scientific = f"{digits[0]}.{digits[1:]}E{len(digits) - 1}" if len(digits) > 1 else digits
    assert imports.normalize_id(scientific) == (digits, False)


def test_customer_ids_as_floats_make_one_customer_and_rounded_ids_warn(unit_a):
    data = csv_bytes(
        ["InvoiceNo", "InvoiceDate", "amount", "CustomerID", "手机"],
        [
            ["536365.0", "2011-12-01 08:26", "15.30", "12347.0", ""],
            ["536366", "2011-12-01 08:28", "11.10", "12347", ""],
            ["536367", "2011-12-01 08:34", "54.08", "1.2347E4", ""],
            ["536368", "2011-12-01 08:35", "1.00", "123456789012345000", ""],
            ["536369", "2011-12-01 08:36", "1.00", "", "1.38001E+10"],
        ],
    )

    result = run(unit_a, data, source="online_retail")

    assert [(e["line"], e["field"]) for e in result["errors"]] == [(6, "mobile")]
    assert result["customers_created"] == 2 and result["created"] == 4
    member = Customer.objects.get(identities__value="online_retail:12347")
    assert member.transactions.count() == 3
    assert Transaction.objects.filter(external_id="536365").exists()
    (warning,) = result["warnings"]
    assert (warning["code"], warning["count"], warning["lines"]) == ("rounded_id", 1, [5])
    assert "customer_external_id" in warning["message"]


# --- Time zones -----------------------------------------------------------------------------


def test_uk_naive_times_land_on_the_right_local_day(unit_a):
    data = csv_bytes(
        ["InvoiceNo", "InvoiceDate", "amount"],
        [
            ["536365", "2010-12-01 07:45", "10"],  # winter: GMT
            ["550000", "2011-04-15 08:30", "10"],  # summer: BST
            ["550001", "2011-04-15T08:30:00+00:00", "10"],  # an explicit offset wins
        ],
    )

    result = run(unit_a, data, options=imports.ImportOptions(time_zone="Europe/London"))

    assert result["time_zone"] == "Europe/London" and result["errors"] == []
    stored = dict(Transaction.objects.values_list("external_id", "occurred_at"))
    assert stored["536365"] == datetime(2010, 12, 1, 7, 45, tzinfo=LONDON)
    assert stored["536365"].astimezone(LONDON).date().isoformat() == "2010-12-01"
    assert stored["550000"].isoformat() == "2011-04-15T07:30:00+00:00"
    assert stored["550001"].isoformat() == "2011-04-15T08:30:00+00:00"


def test_without_options_naive_times_are_shanghai_times(unit_a):
    data = csv_bytes(["单号", "时间", "金额"], [["S-1", "2024-05-01 07:00", "1"]])
    result = run(unit_a, data)
    assert result["time_zone"] == "Asia/Shanghai"
    stored = Transaction.objects.get().occurred_at
    assert stored.isoformat() == "2024-04-30T23:00:00+00:00"


# --- What the form learns before importing --------------------------------------------------


def test_inspecting_the_online_retail_export():
    with RETAIL.open("rb") as stream:
        table = imports.read_table(stream, filename=RETAIL.name)
        found = imports.inspect_table(table, sample_rows=20)

    assert found.header[:4] == ["InvoiceNo", "StockCode", "Description", "Quantity"]
    assert {"external_id", "sku", "product", "quantity", "occurred_at", "unit_price"} <= set(
        found.columns
    )
    assert found.columns["customer_external_id"] == 6 and found.columns["region"] == 7
    assert found.missing == [] and not found.has_currency_column
    assert found.line_level and found.repeated_order_ids > 0
    assert found.decimal_mark == "." and found.decimal_evidence["."] > 100
    assert len(found.sample) == 20 and found.sample[0][0] == "569901"
    assert found.as_dict()["decimal_evidence"][","] == 0


def test_inspecting_a_decimal_comma_file_with_unknown_headers():
    data = csv_bytes(["Nr", "Datum", "Summe", "Währung"], [["1", "2024-05-01", "12,50", "EUR"]])
    table = imports.read_upload(data, filename="x.csv")
    found = imports.inspect_table(
        table, options=imports.ImportOptions(mapping={"external_id": 0, "amount": 2})
    )
    assert found.columns == {"external_id": 0, "amount": 2}
    assert found.missing == ["occurred_at"] and found.decimal_mark == ","
    assert not found.line_level and not found.has_currency_column


def test_the_command_takes_the_options(unit_a, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(
        csv_bytes(["order_id", "order_time", "amount"], [["K-1", "2011-12-01 07:00", "12,50"]])
    )
    out = io.StringIO()
    call_command(
        "import_transactions",
        str(path),
        unit=unit_a.code,
        source="pos",
        decimal_mark=",",
        time_zone="Europe/London",
        currency="GBP",
        stdout=out,
        stderr=io.StringIO(),
    )
    stored = Transaction.objects.get()
    assert (stored.amount, stored.currency) == (Decimal("12.50"), "GBP")
    assert stored.occurred_at == datetime(2011, 12, 1, 7, 0, tzinfo=LONDON)
    assert "time_zone=Europe/London" in out.getvalue()


def test_the_command_prints_the_warnings(unit_a, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(
        csv_bytes(
            ["order_id", "order_time", "amount", "customer_id"],
            [["K-1", "2011-12-01 07:00", "1", "123456789012345000"]],
        )
    )
    out = io.StringIO()
    call_command(
        "import_transactions", str(path), unit=unit_a.code, source="pos", dry_run=True, stdout=out
    )
    assert "warning:" in out.getvalue() and "(lines 2…)" in out.getvalue()
    assert not Transaction.objects.exists()


def test_grouping_by_the_decimal_mark_itself_names_the_other_convention():
    with pytest.raises(AmountError, match="ambiguous"):
        imports.parse_amount("1.000.000", ".")
    assert imports.parse_amount("1.000.000", ",") == Decimal("1000000")
    with pytest.raises(AmountError, match="not a number"):
        imports.parse_amount("1.2.3", ".")
