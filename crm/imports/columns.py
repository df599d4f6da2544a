"""The columns a file may have, their Chinese and English header names, and finding them in
a header row. See the package docstring for what each column holds.

``ColumnSet`` is the part every importer shares (known names, suggestions, the mapping's
checks, labels, the template's headers); the transaction importer is ``TRANSACTION_COLUMNS``
plus its own rules about amounts and order lines, the record importers
(``crm.imports.records``) declare theirs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.imports.files import ImportFileError, cell_text

# column -> accepted header spellings besides the column's own name (already normalized)
COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "订单号",
        "订单编号",
        "单号",
        "发票号",
        "order_id",
        "order_no",
        "invoiceno",
        "invoice_no",
        "invoice",
    ),
    "occurred_at": (
        "下单时间",
        "交易时间",
        "时间",
        "日期",
        "order_time",
        "ordered_at",
        "date",
        "invoicedate",
        "invoice_date",
    ),
    "amount": ("金额", "订单金额", "实付金额", "total", "order_amount", "order_total"),
    "currency": ("币种", "货币", "币别"),
    "channel": ("渠道",),
    "kind": ("类型", "交易类型", "type"),
    "original_external_id": ("原订单号", "original_order_id"),
    "mobile": ("手机", "手机号", "手机号码", "phone"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "e_mail"),
    "wechat_unionid": ("微信unionid", "unionid"),
    "customer_external_id": ("客户编号", "会员号", "会员编号", "customer_id", "customerid"),
    "name": ("姓名", "客户名称", "客户姓名", "customer_name"),
    "region": ("国家", "地区", "country"),
    "lines": ("明细", "商品明细"),
    # One row per order line: the rows of one order id become one order with these lines.
    "sku": ("商品编码", "商品编号", "货号", "stockcode", "stock_code", "item_code", "product_code"),
    "product": ("商品名称", "品名", "商品", "description", "product_name"),
    "quantity": ("数量", "qty", "quantity"),
    "unit_price": ("单价", "unitprice"),
    "line_amount": ("行金额", "小计", "明细金额", "line_total", "subtotal"),
}
REQUIRED_COLUMNS = ("external_id", "occurred_at", "amount")
# A line-level file may leave out the order amount: the sum of its lines is the amount.
LINE_COLUMNS = ("sku", "product", "quantity", "unit_price", "line_amount")
ID_COLUMNS = ("external_id", "original_external_id", "customer_external_id", "mobile")
AMOUNT_COLUMNS = ("amount", "unit_price", "line_amount", "quantity")


def normalize_header(value: Any) -> str:
    return re.sub(r"[\s\-]+", "_", cell_text(value).lower()).strip("_")


@dataclass(frozen=True)
class ColumnSet:
    """An importer's columns: ``columns`` maps each column to the other header spellings it
    accepts (normalized: lowercase, ``_`` for spaces), ``required`` the columns a file must
    have, ``labels`` and ``descriptions`` what the screens show (lazy translations)."""

    columns: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...] = ()
    labels: Mapping[str, Any] = field(default_factory=dict)
    descriptions: Mapping[str, Any] = field(default_factory=dict)
    _names: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = {alias: column for column, aliases in self.columns.items() for alias in aliases}
        self._names.update(names | {column: column for column in self.columns})

    def known(self, header: Any) -> str | None:
        """The column a header names, or ``None``."""
        return self._names.get(normalize_header(header))

    def suggest(self, header: Sequence[Any]) -> dict[str, int]:
        """``column -> index`` of the header names recognised (the first of two that mean
        the same column); never refuses."""
        positions: dict[str, int] = {}
        for index, raw in enumerate(header):
            column = self.known(raw)
            if column is not None:
                positions.setdefault(column, index)
        return positions

    def missing(self, positions: Mapping[str, int]) -> list[str]:
        return [c for c in self.required if c not in positions]

    def recognise(self, header: Sequence[Any]) -> dict[str, int]:
        """``column -> index`` of the known columns; refuses two headers meaning one column."""
        positions: dict[str, int] = {}
        for index, raw in enumerate(header):
            column = self.known(raw)
            if column is None:
                continue
            if column in positions:
                raise ImportFileError(
                    _("Two columns mean “%(column)s”: “%(first)s” and “%(second)s”.")
                    % {
                        "column": column,
                        "first": cell_text(header[positions[column]]),
                        "second": cell_text(raw),
                    }
                )
            positions[column] = index
        return positions

    def check_shape(self, positions: Mapping[str, int]) -> None:
        """Refuse a mapping naming unknown columns or one file column twice."""
        unknown = sorted(c for c in positions if c not in self.columns)
        if unknown:
            raise ImportFileError(
                _("Unknown columns in the mapping: %(columns)s.") % {"columns": ", ".join(unknown)}
            )
        values = list(positions.values())
        if len(set(values)) < len(values) or min(values, default=0) < 0:
            raise ImportFileError(_("Each column of the file is mapped to one column at most."))

    def check_required(self, missing: Sequence[str]) -> None:
        if missing:
            raise ImportFileError(
                _("The header row has no column for %(missing)s. Required columns: %(required)s.")
                % {"missing": ", ".join(missing), "required": ", ".join(self.required)}
            )

    def positions(
        self, header: Sequence[Any], mapping: Mapping[str, int] | None = None
    ) -> dict[str, int]:
        """The mapping given (checked), else the header names recognised; refuses a file
        without the required columns."""
        positions = dict(mapping) if mapping is not None else self.recognise(header)
        self.check_shape(positions)
        self.check_required(self.missing(positions))
        return positions

    def label(self, column: str) -> str:
        return str(self.labels.get(column, column))

    def header_name(self, column: str, *, chinese: bool) -> str:
        """The column's header in a template: its first Chinese alias, else its own name."""
        names = [a for a in self.columns[column] if not a.isascii()] if chinese else []
        return names[0] if names else column

    def docs(self) -> list[dict[str, Any]]:
        """The columns for an upload page's help: code, label, Chinese names, content."""
        return [
            {
                "name": column,
                "label": self.label(column),
                "aliases": [a for a in aliases if not a.isascii()],
                "required": column in self.required,
                "description": str(self.descriptions.get(column, "")),
            }
            for column, aliases in self.columns.items()
        ]


def known_column(header: Any) -> str | None:
    """The column a header names, or ``None``."""
    return TRANSACTION_COLUMNS.known(header)


def suggest_positions(header: Sequence[Any]) -> dict[str, int]:
    """``column -> index`` of the header names recognised (the first of two that mean the
    same column); never refuses."""
    return TRANSACTION_COLUMNS.suggest(header)


def missing_columns(positions: dict[str, int]) -> list[str]:
    """The required columns ``positions`` lacks; the order amount may come from the lines."""
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if "amount" in missing and (
        "line_amount" in positions or {"quantity", "unit_price"} <= positions.keys()
    ):
        missing.remove("amount")
    return missing


def is_line_level(positions: dict[str, int]) -> bool:
    """Rows are order lines when the file has a column only lines have."""
    return any(c in positions for c in LINE_COLUMNS)


def column_positions(header: Sequence[Any]) -> dict[str, int]:
    """``column -> index`` of the known columns; refuses a file without the required ones."""
    positions = TRANSACTION_COLUMNS.recognise(header)
    check_positions(positions)
    return positions


def check_positions(positions: dict[str, int]) -> None:
    """Refuse a mapping that names unknown columns or lacks required ones."""
    TRANSACTION_COLUMNS.check_shape(positions)
    TRANSACTION_COLUMNS.check_required(missing_columns(positions))
    if "lines" in positions and is_line_level(positions):
        raise ImportFileError(
            _(
                "The file has both a JSON lines column and order-line columns (sku, quantity, "
                "unit price…); keep one of them."
            )
        )


# What each known column holds, for the mapping step's labels (new columns show their code).
COLUMN_LABELS = {
    "external_id": gettext_lazy("Order id"),
    "occurred_at": gettext_lazy("Order time"),
    "amount": gettext_lazy("Amount"),
    "currency": gettext_lazy("Currency"),
    "channel": gettext_lazy("Channel"),
    "kind": gettext_lazy("Purchase or cancellation"),
    "original_external_id": gettext_lazy("Original order id (of a cancellation)"),
    "mobile": gettext_lazy("Mobile phone"),
    "email": gettext_lazy("E-mail"),
    "wechat_unionid": gettext_lazy("WeChat unionid"),
    "customer_external_id": gettext_lazy("Customer id"),
    "name": gettext_lazy("Customer name"),
    "region": gettext_lazy("Region or country"),
    "lines": gettext_lazy("Order lines (JSON)"),
    "sku": gettext_lazy("Line: product code"),
    "product": gettext_lazy("Line: product name"),
    "quantity": gettext_lazy("Line: quantity"),
    "unit_price": gettext_lazy("Line: unit price"),
    "line_amount": gettext_lazy("Line: amount"),
}


TRANSACTION_COLUMNS = ColumnSet(COLUMNS, REQUIRED_COLUMNS, COLUMN_LABELS)


def column_label(column: str) -> str:
    return TRANSACTION_COLUMNS.label(column)
