"""Journey (zh-Hans, desktop 1280 px and phone 360 px): a line-level GBK file whose headers
the importer does not know is uploaded, its columns mapped (UK time, like the Online Retail
export), the dry run read with its warning, the file imported from the dry run, and the
customer's 360 view shows the orders at the right time and with the right amounts."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from crm.demo import load_platform_demo
from crm.models import BusinessUnit, Transaction
from tests.e2e.conftest import name_sources, shoot
from tests.e2e.test_jobs_and_keys_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# "单据号", "会员手机", "顾客" and "会员卡号" are no known header; the line columns are.
HEADER = ["单据号", "日期", "商品编码", "商品名称", "数量", "单价", "会员手机", "顾客", "会员卡号"]
ROWS = [
    # order J-1, two lines (2 × 49.50 + 1 × 20.00 = 119.00), at 23:30 in London (BST, +1)
    ["J-1", "2024-05-01 23:30", "SKU-1", "保温杯", "2", "49.50", "13800138000", "王伟", "10001"],
    ["J-1", "2024-05-01 23:30", "SKU-2", "茶杯", "1", "20.00", "13800138000", "王伟", "10001"],
    # order J-2: a card number a spreadsheet already rounded (a warning, still imported)
    [
        "J-2",
        "2024-05-03 09:00",
        "SKU-1",
        "保温杯",
        "1",
        "49.50",
        "13900139000",
        "刘洋",
        "6222020000000000000",
    ],
]


def gbk_file(tmp_path):
    out = io.StringIO(newline="")
    csv.writer(out).writerows([HEADER, *ROWS])
    path = tmp_path / "门店明细.csv"
    path.write_bytes(out.getvalue().encode("gbk"))
    return path


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.mark.parametrize("width", [1280, 360])
def test_import_a_line_level_gbk_file_with_unknown_headers(page, tmp_path, width):
    from playwright.sync_api import expect

    load_platform_demo()
    name_sources()
    unit = BusinessUnit.objects.get(code="MART")
    page.set_viewport_size({"width": width, "height": 800})
    suffix = "" if width > 1000 else "-360"
    sign_in(page, "marketing")

    page.goto("/imports/transactions/")
    page.select_option("#id_business_unit", str(unit.pk))
    page.fill("#id_source", "pos")
    page.set_input_files("#id_file", str(gbk_file(tmp_path)))
    page.get_by_test_id("transaction-import-submit").click()

    # the mapping step: known names filled in, the unknown ones picked here
    expect(page.get_by_test_id("import-mapping-form")).to_be_visible()
    expect(page.locator("#id_col_occurred_at")).to_have_value("1")
    expect(page.locator("#id_col_sku")).to_have_value("2")
    expect(page.locator("#id_col_external_id")).to_have_value("")
    expect(page.get_by_test_id("import-line-level")).to_be_visible()
    page.get_by_test_id("import-dry-run-start").click()  # not mapped yet: refused
    expect(page.get_by_test_id("import-mapping-errors")).to_be_visible()
    page.select_option("#id_col_external_id", label="单据号")
    page.select_option("#id_col_mobile", label="会员手机")
    page.select_option("#id_col_name", label="顾客")
    page.select_option("#id_col_customer_external_id", label="会员卡号")
    page.select_option("#id_time_zone", "Europe/London")
    expect(page.get_by_test_id("import-preview-table")).to_contain_text("J-1")
    expect(page.get_by_test_id("import-preview-table")).to_contain_text("刘洋")
    expect(page.get_by_test_id("import-preview-table")).not_to_contain_text("13800138000")
    shoot(page, f"import-map{suffix}")
    page.get_by_test_id("import-dry-run-start").click()

    # the dry run's prediction and its warning; nothing stored yet
    summary = page.get_by_test_id("import-summary")
    expect(summary).to_be_visible()
    expect(page.get_by_test_id("import-dry-run")).to_be_visible()
    expect(page.get_by_test_id("import-count-customers_created")).to_contain_text("2")
    expect(page.get_by_test_id("import-warnings")).to_contain_text("15")
    expect(page.get_by_test_id("import-options")).to_contain_text("Europe/London")
    assert not Transaction.objects.exists()
    shoot(page, f"import-dry-run{suffix}")

    page.get_by_test_id("import-confirm").click()
    expect(page.get_by_test_id("import-summary")).to_contain_text("导入结果")
    expect(page.get_by_test_id("import-dry-run")).to_have_count(0)
    shoot(page, f"import-done{suffix}")

    # the customer of J-1: the order at its Shanghai time (23:30 BST = 06:30 next day)
    order = Transaction.objects.get(business_unit=unit, external_id="J-1")
    assert order.amount == Decimal("119.00") and len(order.lines) == 2
    page.goto(f"/customers/{order.customer_id}/?tab=transactions")
    rows = page.get_by_test_id("transaction-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("2024-05-02 06:30")
    expect(rows.first).to_contain_text("119.00")
    # the unit's figures: the last purchase on the Shanghai day, the spend formatted
    expect(page.get_by_test_id("unit-last").first).to_have_text("2024-05-02")
    expect(page.get_by_test_id("unit-spend").first).to_contain_text("119.00")
    shoot(page, f"import-customer{suffix}")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the page is wider than the screen"

    # the job list tells the dry run and the import apart, in Chinese
    page.goto("/jobs/")
    jobs = page.get_by_test_id("job-row")
    expect(jobs).to_have_count(2)
    expect(jobs.first).to_contain_text("导入交易")
    expect(jobs.first.get_by_test_id("job-file")).to_contain_text(".csv")
    expect(jobs.nth(1).get_by_test_id("job-outcome")).to_contain_text("试运行")
    expect(page.get_by_test_id("job-table")).to_contain_text("门店收银")  # the source's name
    box = jobs.first.get_by_test_id("job-outcome").bounding_box()
    assert box is not None and box["x"] + box["width"] <= width, box  # no sideways scrolling
    shoot(page, f"import-job-list{suffix}")
