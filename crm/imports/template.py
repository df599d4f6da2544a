"""The downloadable import template: every known column's header in the reader's language
(the Chinese name in Chinese, the column's own name otherwise) and example rows that import
cleanly (one of them an order of two lines), as CSV (UTF-8 with BOM, for Excel) and XLSX."""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _
from openpyxl import Workbook

from crm.imports.columns import COLUMNS

# Order lines come from the line columns here, so the JSON "lines" column is left out.
TEMPLATE_COLUMNS = [column for column in COLUMNS if column != "lines"]


def template_headers() -> list[str]:
    chinese = (get_language() or "").lower().startswith("zh")
    headers = []
    for column in TEMPLATE_COLUMNS:
        aliases = COLUMNS[column]
        names = [a for a in aliases if not a.isascii()] if chinese else []
        headers.append(names[0] if names else column)
    return headers


def template_rows() -> list[dict[str, Any]]:
    """Three orders: a purchase of two lines (two rows with the same order id), a purchase
    by e-mail and its partial refund."""
    chinese = (get_language() or "").lower().startswith("zh")
    purchase, cancellation = ("购买", "退货") if chinese else ("purchase", "cancellation")
    store, tmall = ("门店", "天猫") if chinese else ("store", "tmall")
    first = {
        "external_id": "T-0001",
        "occurred_at": "2024-05-01 14:30",
        "amount": "1234.50",
        "currency": "CNY",
        "channel": store,
        "kind": purchase,
        "mobile": "13800138000",
        "customer_external_id": "M-1001",
        "name": _("Zhang San"),
    }
    li_si = {"email": "li.si@example.com", "name": _("Li Si"), "channel": tmall}
    return [
        first
        | {
            "sku": "SKU-001",
            "product": _("Thermos flask"),
            "quantity": "1",
            "unit_price": "1194.50",
            "line_amount": "1194.50",
        },
        first
        | {
            "sku": "SKU-003",
            "product": _("Gift bag"),
            "quantity": "2",
            "unit_price": "20.00",
            "line_amount": "40.00",
        },
        li_si
        | {
            "external_id": "T-0002",
            "occurred_at": "2024-05-02 10:00",
            "amount": "88.00",
            "currency": "CNY",
            "kind": purchase,
            "sku": "SKU-002",
            "product": _("Tea cup"),
            "quantity": "4",
            "unit_price": "22.00",
            "line_amount": "88.00",
        },
        li_si
        | {
            "external_id": "T-0003",
            "occurred_at": "2024-05-03 09:15",
            "amount": "-22.00",
            "currency": "CNY",
            "kind": cancellation,
            "original_external_id": "T-0002",
            "sku": "SKU-002",
            "product": _("Tea cup"),
            "quantity": "-1",
            "unit_price": "22.00",
            "line_amount": "-22.00",
        },
    ]


def template_table() -> tuple[list[str], list[list[str]]]:
    """The template's headers (in the active language) and rows."""
    columns = TEMPLATE_COLUMNS
    rows = [[str(row.get(column, "")) for column in columns] for row in template_rows()]
    return template_headers(), rows


def table_csv(headers: list[str], rows: list[list[str]]) -> bytes:
    """A template as CSV: UTF-8 with BOM, so that Excel shows the Chinese headers."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows(rows)
    return codecs.BOM_UTF8 + text.getvalue().encode("utf-8")


def table_xlsx(headers: list[str], rows: list[list[str]], *, title: str) -> bytes:
    """A template as an XLSX workbook of text cells (ids stay as written)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(title)[:31])
    sheet.append(headers)
    for row in rows:
        sheet.append(row)  # text cells: ids and amounts stay as written
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()
