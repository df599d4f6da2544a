"""Mapping a file's rows to ``TransactionInput``; see the package docstring for the columns."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.imports.columns import (
    COLUMNS,
    REQUIRED_COLUMNS,
    column_label,
    column_positions,
    normalize_header,
)
from crm.imports.currencies import CurrencyError, parse_currency
from crm.imports.files import cell_text
from crm.imports.numbers import (
    AmountError,
    IdError,
    detect_decimal_mark,
    normalize_id,
    parse_amount,
)
from crm.imports.options import DEFAULT_TIME_ZONE, ImportOptions
from crm.models import Channel, TransactionKind
from crm.services import (
    IdentityInput,
    RowError,
    TransactionInput,
    WarningLog,
    register_warning,
)

__all__ = [  # what callers import from here
    "COLUMNS",
    "FIELD_TO_COLUMN",
    "IMPORT_TIME_ZONE",
    "REQUIRED_COLUMNS",
    "LineInput",
    "column_positions",
    "detect_decimal_mark",
    "map_line",
    "map_row",
    "normalize_header",
    "parse_amount",
    "parse_lines",
    "parse_occurred_at",
]

# Naive times in a file are read in ``ImportOptions.time_zone``; this is its default.
IMPORT_TIME_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)

_IDENTITY_COLUMNS = {
    "mobile": "mobile",
    "email": "email",
    "wechat_unionid": "wechat_unionid",
    "customer_external_id": "external",
}
# A service error names the field it checked; the report names the file's column instead.
FIELD_TO_COLUMN = {"external": "customer_external_id", "display_name": "name"}

_KIND_ALIASES = {
    "购买": TransactionKind.PURCHASE,
    "销售": TransactionKind.PURCHASE,
    "订单": TransactionKind.PURCHASE,
    "sale": TransactionKind.PURCHASE,
    "退货": TransactionKind.CANCELLATION,
    "退款": TransactionKind.CANCELLATION,
    "取消": TransactionKind.CANCELLATION,
    "refund": TransactionKind.CANCELLATION,
    "return": TransactionKind.CANCELLATION,
}
_CHANNEL_ALIASES = {
    "门店": Channel.STORE,
    "线下": Channel.STORE,
    "商城": Channel.ONLINE_MALL,
    "线上商城": Channel.ONLINE_MALL,
    "天猫": Channel.TMALL,
    "京东": Channel.JD,
    "小程序": Channel.WECHAT_MINI,
    "微信小程序": Channel.WECHAT_MINI,
    "电话": Channel.PHONE,
    "其他": Channel.OTHER,
}
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)


def parse_occurred_at(value: Any, zone: ZoneInfo | None = None) -> datetime:
    """An aware datetime; a time without a zone is a time in ``zone`` (the import's time
    zone, by default Shanghai). ``ValueError`` otherwise."""
    if type(value) is str:  # the lines of an order share its time: read each text once
        return _parse_time_text(value, zone or IMPORT_TIME_ZONE)
    return _parse_occurred_at(value, zone or IMPORT_TIME_ZONE)


@lru_cache(maxsize=1 << 12)
def _parse_time_text(value: str, zone: ZoneInfo) -> datetime:
    return _parse_occurred_at(value, zone)


def _parse_occurred_at(value: Any, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        text = " ".join(cell_text(value).split())
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            for fmt in _DATE_FORMATS:
                try:
                    moment = datetime.strptime(text, fmt)  # the zone is added below
                    break
                except ValueError:
                    continue
            else:
                raise ValueError(text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if not 1900 <= moment.year <= 2999:  # also keeps any zone offset away from year 9999
        raise ValueError(value)
    return moment


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400; jsonb has no Infinity
        raise ValueError(text)
    return number


def _no_constant(text: str) -> Any:
    raise ValueError(text)  # NaN, Infinity: not JSON to PostgreSQL


def parse_lines(value: Any) -> list[dict[str, Any]]:
    """A JSON list of objects that PostgreSQL's jsonb accepts; ``ValueError`` otherwise."""
    text = cell_text(value)
    if not text:
        return []
    try:
        lines = json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
        # jsonb refuses \u0000 and lone surrogates (the encode raises for those)
        dumped = json.dumps(lines, ensure_ascii=False)
        if "\\u0000" in dumped:
            raise ValueError(text)
        dumped.encode("utf-8")
    except (ValueError, RecursionError) as exc:
        raise ValueError(text) from exc
    if not isinstance(lines, list) or not all(isinstance(item, dict) for item in lines):
        raise ValueError(text)
    return lines


def _identity_text(type_: str, text: str, source: str) -> str:
    """An external id without its ``source:`` prefix belongs to the import's source."""
    if type_ == "external" and source and ":" not in text:
        return f"{source}:{text}"
    return text


def _id_cell(cells: Mapping[str, Any], column: str, line: int, warnings: WarningLog | None) -> str:
    """An id column's text, spreadsheet numbers undone (``12347.0`` is ``12347``)."""
    value = cells.get(column)
    if value is None:
        return ""
    text, rounded = normalize_id(value)
    if rounded and warnings is not None:
        warnings.add("rounded_id", line, column=column)
    return text


def map_row(
    cells: Mapping[str, Any],
    *,
    line: int,
    channel: str,
    source: str = "",
    options: ImportOptions | None = None,
    warnings: WarningLog | None = None,
    amount_required: bool = True,
) -> TransactionInput | RowError:
    """One file row (``column -> cell``) as the service's input, or why it cannot be one.

    ``source`` is the import's source system: a customer id without one (a plain member number
    such as ``12923``) is that system's, ``pos:12923``. ``options`` says how to read numbers,
    naive times and rows without a currency; ``warnings`` collects what deserves a look.
    ``amount_required=False`` (the row is an order line): an empty amount is ``""``."""
    options = options or ImportOptions()
    try:
        external_id = _id_cell(cells, "external_id", line, warnings)
    except IdError as exc:
        return RowError(line, "external_id", str(exc), cell_text(cells.get("external_id"))[:100])

    def error(column: str, reason: str) -> RowError:
        return RowError(line, column, reason, external_id[:100])

    raw_date = cells.get("occurred_at")
    try:
        occurred_at = parse_occurred_at(raw_date, options.zone)
    except ValueError:
        return error(
            "occurred_at",
            _("“%(value)s” is not a date and time such as 2024-05-01 14:30.")
            % {"value": cell_text(raw_date)[:60]},
        )
    raw_amount = cells.get("amount")
    amount: Decimal | str = ""
    if amount_required or cell_text(raw_amount):
        try:
            amount = parse_amount(raw_amount, options.decimal_mark)
        except AmountError as exc:
            return error("amount", str(exc))
    try:
        lines = parse_lines(cells.get("lines"))
    except ValueError:
        return error("lines", _("Order lines must be a JSON list of objects."))
    kind = cell_text(cells.get("kind")).lower()
    kind = _KIND_ALIASES.get(kind, kind)
    identity_cells: dict[str, str] = {}
    for column in ("original_external_id", "customer_external_id", "mobile"):
        try:
            identity_cells[column] = _id_cell(cells, column, line, warnings)
        except IdError as exc:
            return error(column, str(exc))
    original_external_id = identity_cells.pop("original_external_id")
    if original_external_id and kind == TransactionKind.PURCHASE:
        # only a cancellation links to an original (the database refuses anything else)
        return error(
            "original_external_id",
            _("Only a cancellation refers to an original order; leave it empty for a purchase."),
        )
    row_channel = cell_text(cells.get("channel")).lower() or channel
    try:
        currency = parse_currency(cells.get("currency"))
    except CurrencyError as exc:
        return error("currency", str(exc))
    identities = []
    for column, type_ in _IDENTITY_COLUMNS.items():
        text = identity_cells.get(column, cell_text(cells.get(column)))
        if text:
            identities.append(IdentityInput(type_, _identity_text(type_, text, source)))
    name = cell_text(cells.get("name"))
    region = cell_text(cells.get("region"))
    attributes = {"display_name": name} if name else {}
    if region:
        attributes["region"] = region[:100]
    return TransactionInput(
        external_id=external_id,
        occurred_at=occurred_at,
        amount=amount,
        channel=_CHANNEL_ALIASES.get(row_channel, row_channel),
        currency=currency or options.currency,
        # an order line's kind may come from the sign of its order's lines
        kind=kind or (TransactionKind.PURCHASE if amount_required else ""),
        original_external_id=original_external_id,
        identities=identities,
        customer_attributes=attributes,
        lines=lines,
        line_number=line,
    )


@dataclass
class LineInput:
    """One order line of a line-level file: what it says and what it costs."""

    line: int
    item: dict[str, Any]
    amount: Decimal


def map_line(
    cells: Mapping[str, Any], *, line: int, options: ImportOptions | None = None
) -> LineInput | RowError:
    """An order line from the line columns: amount = line amount, or quantity x unit price
    (both given: they must agree)."""
    options = options or ImportOptions()
    external_id = cell_text(cells.get("external_id"))[:100]
    numbers: dict[str, Decimal | None] = {}
    for column in ("quantity", "unit_price", "line_amount"):
        raw = cells.get(column)
        if raw is None or cell_text(raw) == "":
            numbers[column] = None
            continue
        try:
            numbers[column] = parse_amount(raw, options.decimal_mark)
        except AmountError as exc:
            return RowError(line, column, str(exc), external_id)
    quantity, price, given = numbers["quantity"], numbers["unit_price"], numbers["line_amount"]
    if quantity is not None and quantity == 0:
        return RowError(line, "quantity", _("A line's quantity is not 0."), external_id)
    if price is not None and price < 0:
        return RowError(
            line,
            "unit_price",
            _("A unit price is not negative; a return has a negative quantity."),
            external_id,
        )
    computed = quantity * price if quantity is not None and price is not None else None
    if given is None and computed is None:
        return RowError(
            line,
            "line_amount",
            _("An order line needs a line amount, or a quantity and a unit price."),
            external_id,
        )
    if given is not None and computed is not None and given != computed:
        return RowError(
            line,
            "line_amount",
            _("The line amount %(given)s is not quantity × unit price = %(computed)s.")
            % {"given": given, "computed": computed},
            external_id,
        )
    item: dict[str, Any] = {}
    sku = normalize_id(cells["sku"])[0] if cell_text(cells.get("sku")) else ""
    if sku:
        item["sku"] = sku[:100]
    description = cell_text(cells.get("product"))
    if description:
        item["description"] = description[:300]
    if quantity is not None:
        item["quantity"] = (
            int(quantity) if quantity == quantity.to_integral_value() else str(quantity)
        )
    if price is not None:
        item["unit_price"] = str(price)
    amount = given if given is not None else computed
    assert amount is not None
    item["amount"] = str(amount)
    return LineInput(line=line, item=item, amount=amount)


register_warning(
    "rounded_id",
    lambda n, d: ngettext(
        "%(count)s id in %(columns)s has 15 or more digits ending in zeros or was written in "
        "scientific notation: a spreadsheet has probably rounded it. Format the column as text "
        "and export again.",
        "%(count)s ids in %(columns)s have 15 or more digits ending in zeros or were written in "
        "scientific notation: a spreadsheet has probably rounded them. Format the column as "
        "text and export again.",
        n,
    )
    % {
        "count": n,
        "columns": ", ".join(
            f"{column_label(c)} ({c})" for c in d.get("column", "").split(", ") if c
        ),
    },
)
