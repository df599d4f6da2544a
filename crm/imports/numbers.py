"""Numbers as files write them: amounts under a decimal convention, and ids a spreadsheet
turned into numbers (``12347.0``, ``1.2347E4``).

The decimal convention is the file's, chosen in the form (``detect_decimal_mark`` proposes it
from the data). Under the decimal point ``1,234.50`` is 1234.50 and ``1,234`` is 1234 (groups
of exactly three digits); ``12,5`` is refused, because under this convention it can only be a
mistake or a decimal comma. Under the decimal comma it is the other way round. Nothing is
rounded: an amount keeps every decimal it has, and the service refuses more decimals than the
currency has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _

from crm.imports.files import cell_text

DECIMAL_POINT = "."
DECIMAL_COMMA = ","

# Currency signs and codes written next to amounts; removed before reading the number.
_SIGNS = re.compile(r"^(?:[¥￥£€$]|US\$|HK\$|RMB|CNY)\s*|\s*(?:元|RMB|CNY)$", re.IGNORECASE)
_SPACES = "\u00a0\u202f\u2009 "  # no-break, narrow no-break, thin and plain spaces group digits


class AmountError(ValueError):
    """Why a cell is not an amount under the file's convention (a sentence for people)."""


def _grouping(mark: str) -> str:
    return (DECIMAL_COMMA if mark == DECIMAL_POINT else DECIMAL_POINT) + _SPACES + "'"


def parse_amount(value: Any, decimal_mark: str = DECIMAL_POINT) -> Decimal:
    """The exact number a cell holds, read under ``decimal_mark``; ``AmountError`` (a
    ``ValueError``) with the reason otherwise. Numbers typed by a spreadsheet (int, float,
    Decimal) need no convention."""
    if type(value) is str:  # prices and quantities repeat: read each text once
        return _parse_amount_text(value, decimal_mark)
    return _parse_amount(value, decimal_mark)


@lru_cache(maxsize=1 << 14)
def _parse_amount_text(value: str, decimal_mark: str) -> Decimal:
    return _parse_amount(value, decimal_mark)  # an error is not cached: raised each time


def _parse_amount(value: Any, decimal_mark: str) -> Decimal:
    if isinstance(value, bool):
        raise AmountError(_("“%(value)s” is not a number.") % {"value": value})
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
        if not number.is_finite():
            raise AmountError(_("“%(value)s” is not a number.") % {"value": value})
        return number
    text = cell_text(value).replace("，", ",").replace("．", ".")
    shown = text[:60]
    text = _SIGNS.sub("", text).strip()
    negative = False
    if text[:1] in ("+", "-", "−"):
        negative, text = text[0] != "+", _SIGNS.sub("", text[1:]).strip()
    elif text.startswith("(") and text.endswith(")"):  # accounting style: (12.50)
        negative, text = True, text[1:-1].strip()
    other = DECIMAL_COMMA if decimal_mark == DECIMAL_POINT else DECIMAL_POINT
    if text.count(decimal_mark) > 1:  # 1.000.000 under ".": the other convention's grouping
        grouped = text.split(decimal_mark)
        if other not in text and all(len(g) == 3 and _digits(g) for g in grouped[1:]):
            raise AmountError(_wrong_mark(shown, decimal_mark))
        raise AmountError(_("“%(value)s” is not a number.") % {"value": shown})
    whole, _sep, decimals = text.partition(decimal_mark)
    if decimals and not _digits(decimals):
        if other in decimals and _digits(decimals.replace(other, "")):
            raise AmountError(_wrong_mark(shown, decimal_mark))  # 1.234,50 under "."
        raise AmountError(_("“%(value)s” is not a number.") % {"value": shown})
    if not _digits(whole):
        whole = _ungroup(whole, decimal_mark, shown)
    number = Decimal(f"{'-' if negative else ''}{whole}.{decimals or '0'}")
    return number if decimals else number.quantize(Decimal(1))


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _ungroup(whole: str, mark: str, shown: str) -> str:
    """The digits of ``1,234,567`` (groups of exactly three after the first one to three)."""
    other = DECIMAL_COMMA if mark == DECIMAL_POINT else DECIMAL_POINT
    separators = {c for c in whole if not _digits(c)}
    if len(separators) == 1 and separators <= set(_grouping(mark)):
        (separator,) = separators
        head, *groups = whole.split(separator)
        if (
            1 <= len(head) <= 3
            and _digits(head)
            and all(len(g) == 3 and _digits(g) for g in groups)
        ):
            return head + "".join(groups)
        if separator != other:
            raise AmountError(_("“%(value)s”: digits are grouped by three.") % {"value": shown})
    if other in whole and _digits(whole.replace(other, "")):
        raise AmountError(_wrong_mark(shown, mark))
    raise AmountError(_("“%(value)s” is not a number.") % {"value": shown})


def _wrong_mark(shown: str, mark: str) -> str:
    if mark == DECIMAL_POINT:
        return _(
            "“%(value)s” is ambiguous: the file's decimal mark is “.”, so “,” only groups "
            "thousands (1,234.50). Choose the decimal comma if the file writes 12,50."
        ) % {"value": shown}
    return _(
        "“%(value)s” is ambiguous: the file's decimal mark is “,”, so “.” only groups "
        "thousands (1.234,50). Choose the decimal point if the file writes 12.50."
    ) % {"value": shown}


def parse_amount_cell(value: Any, decimal_mark: str) -> Decimal | None:
    """``None`` for an empty cell, else ``parse_amount``."""
    if value is None or cell_text(value) == "":
        return None
    return parse_amount(value, decimal_mark)


# --- Detecting the convention --------------------------------------------------------------

_BOTH = re.compile(r"\d[.,]\d.*[.,]\d")
_ONE_MARK = re.compile(r"^[^\d]*\d+([.,])(\d+)[^\d]*$")
_GROUPED = re.compile(r"^[^\d]*\d{1,3}(?:([.,])\d{3})(?:\1\d{3})+[^\d]*$")


def detect_decimal_mark(values: Iterable[Any]) -> tuple[str | None, dict[str, int]]:
    """The decimal mark the amount-like cells ``values`` speak for, and the evidence:
    ``{".": cells only the decimal point explains, ",": cells only the decimal comma explains,
    "ambiguous": cells either explains (1,234 or 1.234), "plain": integers}``. Numbers typed
    by a spreadsheet say nothing. ``None`` when no cell decides, or both marks have as many.
    """
    evidence = {DECIMAL_POINT: 0, DECIMAL_COMMA: 0, "ambiguous": 0, "plain": 0}
    for value in values:
        if not isinstance(value, str):
            continue
        text = value.strip().replace("，", ",")
        if not text or not any(c.isdigit() for c in text):
            continue
        vote = _vote(text)
        evidence[vote] += 1
    point, comma = evidence[DECIMAL_POINT], evidence[DECIMAL_COMMA]
    if point == comma:
        return None, evidence
    return (DECIMAL_POINT if point > comma else DECIMAL_COMMA), evidence


def _vote(text: str) -> str:
    digits = re.sub(r"[^\d.,]", "", text)
    if "." in digits and "," in digits:
        return DECIMAL_POINT if digits.rfind(".") > digits.rfind(",") else DECIMAL_COMMA
    grouped = _GROUPED.match(digits)
    if grouped:  # 1,234,567: the repeated mark groups, so the other one is the decimal mark
        return DECIMAL_COMMA if grouped.group(1) == DECIMAL_POINT else DECIMAL_POINT
    single = _ONE_MARK.match(digits)
    if single is None:
        return "plain"
    mark, decimals = single.groups()
    if len(decimals) == 3 and not digits.startswith(("0" + mark, mark)):
        return "ambiguous"  # 1,234 or 1.234: a thousand or one and a bit
    return mark


# --- Ids a spreadsheet wrote as numbers ---------------------------------------------------

_FLOAT_ID = re.compile(r"^(\d+)\.0+$")
_SCIENTIFIC = re.compile(r"^(\d)(?:\.(\d+))?[eE]\+?(\d{1,2})$")
ROUNDED_DIGITS = 15  # a double holds 15 significant digits for sure


class IdError(ValueError):
    """An id whose digits a spreadsheet lost (a sentence for people)."""


def normalize_id(value: Any) -> tuple[str, bool]:
    """An id cell as text, and whether a spreadsheet probably rounded it already.

    ``12347.0`` and ``1.2347E4`` (and the float 12347.0 of a workbook) are ``12347``; other
    text is kept as it is (ids may hold dots: ``2024.05``, ``12347.5`` are ids, not numbers).
    Scientific notation that shows fewer digits than the number has (``1.38001E+10``) raises
    ``IdError``: the id's last digits are gone. Rounded: 15 or more digits ending in zeros, or
    scientific notation with 15 or more significant digits."""
    if type(value) is str:  # an order's id on each of its lines, a customer's on each order
        return _normalize_text_id(value)
    return _normalize_id(value)


@lru_cache(maxsize=1 << 14)
def _normalize_text_id(value: str) -> tuple[str, bool]:
    return _normalize_id(value)


def _normalize_id(value: Any) -> tuple[str, bool]:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e30:
            digits = str(int(Decimal(repr(value))))  # the digits the float really holds
            return digits, len(digits.lstrip("-")) >= ROUNDED_DIGITS
        return cell_text(value), False
    if isinstance(value, int) and not isinstance(value, bool):
        digits = str(value)
        return digits, len(digits) >= ROUNDED_DIGITS and digits.endswith("0")
    text = cell_text(value)
    whole = _FLOAT_ID.match(text)
    if whole:
        text = whole.group(1)
    scientific = _SCIENTIFIC.match(text)
    if scientific:
        first, rest, exponent = scientific.group(1), scientific.group(2) or "", scientific.group(3)
        if len(rest) > int(exponent):
            return text, False  # 1.25E1 = 12.5: not an integral id; kept as written
        significant = first + rest
        if len(significant) < int(exponent) + 1 and len(significant) < ROUNDED_DIGITS:
            raise IdError(
                _(
                    "“%(value)s” is a number in scientific notation: the id's last digits "
                    "are lost. Format the column as text in the spreadsheet and export "
                    "again."
                )
                % {"value": text}
            )
        digits = significant + "0" * (int(exponent) - len(rest))
        return digits, len(significant) >= ROUNDED_DIGITS
    return text, _digits(text) and len(text) >= ROUNDED_DIGITS and text.endswith("0")
