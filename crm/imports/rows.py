"""Mapping a file's rows to ``TransactionInput``; see the package docstring for the columns."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from crm.imports.files import ImportFileError, cell_text
from crm.models import Channel, TransactionKind
from crm.services import (
    IdentityInput,
    RowError,
    TransactionInput,
)

IMPORT_TIME_ZONE = ZoneInfo("Asia/Shanghai")  # naive times in a file are Shanghai times


# column -> accepted header spellings besides the column's own name (already normalized)
COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("订单号", "订单编号", "单号", "order_id", "order_no"),
    "occurred_at": ("下单时间", "交易时间", "时间", "order_time", "ordered_at", "date"),
    "amount": ("金额", "订单金额", "实付金额", "total"),
    "currency": ("币种", "货币"),
    "channel": ("渠道",),
    "kind": ("类型", "交易类型", "type"),
    "original_external_id": ("原订单号", "original_order_id"),
    "mobile": ("手机", "手机号", "手机号码", "phone"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "e_mail"),
    "wechat_unionid": ("微信unionid", "unionid"),
    "customer_external_id": ("客户编号", "会员号", "会员编号", "customer_id"),
    "name": ("姓名", "客户名称", "客户姓名", "customer_name"),
    "lines": ("明细", "商品明细"),
}
REQUIRED_COLUMNS = ("external_id", "occurred_at", "amount")
_HEADER_NAMES = {alias: column for column, aliases in COLUMNS.items() for alias in aliases} | {
    column: column for column in COLUMNS
}
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
_CURRENCY_ALIASES = {"人民币": "CNY", "RMB": "CNY", "元": "CNY"}
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
_AMOUNT_NOISE = re.compile(r"[\s,，¥￥]")


def normalize_header(value: Any) -> str:
    return re.sub(r"[\s\-]+", "_", cell_text(value).lower()).strip("_")


def column_positions(header: Sequence[Any]) -> dict[str, int]:
    """``column -> index`` of the known columns; refuses a file without the required ones."""
    positions: dict[str, int] = {}
    for index, raw in enumerate(header):
        column = _HEADER_NAMES.get(normalize_header(raw))
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
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise ImportFileError(
            _("The header row has no column for %(missing)s. Required columns: %(required)s.")
            % {"missing": ", ".join(missing), "required": ", ".join(REQUIRED_COLUMNS)}
        )
    return positions


def parse_amount(value: Any) -> Decimal:
    """An amount with two decimals; ``ValueError`` with a reason otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    text = str(value) if isinstance(value, int | float | Decimal) else cell_text(value)
    text = _AMOUNT_NOISE.sub("", text)
    try:
        amount = Decimal(text)
        if not amount.is_finite():
            raise ValueError(text)
        return amount.quantize(Decimal("0.01"))
    except (InvalidOperation, ArithmeticError) as exc:
        raise ValueError(text) from exc


def parse_occurred_at(value: Any) -> datetime:
    """An aware datetime; a time without a zone is a Shanghai time. ``ValueError`` otherwise."""
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
        moment = moment.replace(tzinfo=IMPORT_TIME_ZONE)
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


def map_row(
    cells: Mapping[str, Any], *, line: int, channel: str, source: str = ""
) -> TransactionInput | RowError:
    """One file row (``column -> cell``) as the service's input, or why it cannot be one.

    ``source`` is the import's source system: a customer id without one (a plain member number
    such as ``12923``) is that system's, ``pos:12923``."""
    external_id = cell_text(cells.get("external_id"))

    def error(column: str, reason: str) -> RowError:
        return RowError(line, column, reason, external_id[:100])

    raw_date = cells.get("occurred_at")
    try:
        occurred_at = parse_occurred_at(raw_date)
    except ValueError:
        return error(
            "occurred_at",
            _("“%(value)s” is not a date and time such as 2024-05-01 14:30.")
            % {"value": cell_text(raw_date)[:60]},
        )
    raw_amount = cells.get("amount")
    try:
        amount = parse_amount(raw_amount)
    except ValueError:
        return error(
            "amount",
            _("“%(value)s” is not an amount such as 1234.50.")
            % {"value": cell_text(raw_amount)[:60]},
        )
    try:
        lines = parse_lines(cells.get("lines"))
    except ValueError:
        return error("lines", _("Order lines must be a JSON list of objects."))
    kind = cell_text(cells.get("kind")).lower() or TransactionKind.PURCHASE
    kind = _KIND_ALIASES.get(kind, kind)
    original_external_id = cell_text(cells.get("original_external_id"))
    if original_external_id and kind == TransactionKind.PURCHASE:
        # only a cancellation links to an original (the database refuses anything else)
        return error(
            "original_external_id",
            _("Only a cancellation refers to an original order; leave it empty for a purchase."),
        )
    row_channel = cell_text(cells.get("channel")).lower() or channel
    currency = cell_text(cells.get("currency")).upper() or "CNY"
    identities = [
        IdentityInput(type_, _identity_text(type_, cell_text(cells.get(column)), source))
        for column, type_ in _IDENTITY_COLUMNS.items()
        if cell_text(cells.get(column))
    ]
    name = cell_text(cells.get("name"))
    return TransactionInput(
        external_id=external_id,
        occurred_at=occurred_at,
        amount=amount,
        channel=_CHANNEL_ALIASES.get(row_channel, row_channel),
        currency=_CURRENCY_ALIASES.get(currency, currency),
        kind=kind,
        original_external_id=original_external_id,
        identities=identities,
        customer_attributes={"display_name": name} if name else {},
        lines=lines,
        line_number=line,
    )


# --- Running an import -------------------------------------------------------------------
