"""Money as people read it, per language: ``¥1,234.50`` in Chinese, ``CN¥1,234.50`` in English,
``£1,234.50``, ``HK$1,234.50``; other currencies with their code (``CHF 1,234.50``).

One function for templates (``{% money amount currency %}``), the admin and anything else
that shows an amount. Exports keep numbers as numbers and do not use it.

Babel is not a dependency: Django's locale formats leave Chinese numbers ungrouped
(``THOUSAND_SEPARATOR = ""``), while CLDR groups both languages by three with a comma, so the
grouping and the symbols (CLDR's, for the currencies the group deals in) are stated here.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import numberformat, translation

# currency: (symbol in Chinese, symbol in English). CLDR's narrow-enough symbols.
SYMBOLS: dict[str, tuple[str, str]] = {
    "CNY": ("¥", "CN¥"),
    "HKD": ("HK$", "HK$"),
    "MOP": ("MOP$", "MOP$"),
    "TWD": ("NT$", "NT$"),
    "USD": ("US$", "$"),
    "EUR": ("€", "€"),
    "GBP": ("£", "£"),
    "JPY": ("JP¥", "¥"),
    "KRW": ("₩", "₩"),
    "SGD": ("SGD", "SGD"),
    "AUD": ("AU$", "A$"),
    "CAD": ("CA$", "CA$"),
}
# Currencies without minor units.
NO_DECIMALS = frozenset({"JPY", "KRW"})
# language: (decimal separator, thousands separator); CLDR's, grouping by three.
SEPARATORS = {"zh": (".", ","), "en": (".", ",")}


def format_money(amount: Any, currency: str = "CNY", *, language: str | None = None) -> str:
    """``amount`` (a Decimal, int, float or numeric string) in ``currency`` as the language
    shows it; the active language when none is given. ``""`` for no amount."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    code = (currency or "").upper()
    lang = (language or translation.get_language() or "zh-hans").lower()
    english = lang.startswith("en")
    decimal_sep, thousand_sep = SEPARATORS["en" if english else "zh"]
    places = 0 if code in NO_DECIMALS else 2
    number = numberformat.format(
        abs(value),
        decimal_sep,
        decimal_pos=places,
        grouping=3,
        thousand_sep=thousand_sep,
        force_grouping=True,
        use_l10n=True,
    )
    sign = "-" if value < 0 and value.quantize(Decimal(1).scaleb(-places)) != 0 else ""
    symbols = SYMBOLS.get(code)
    if symbols is None:
        return f"{sign}{code} {number}" if code else f"{sign}{number}"
    return f"{sign}{symbols[1 if english else 0]}{number}"


def format_count(value: Any, *, language: str | None = None) -> str:
    """A whole number grouped as the language reads it (``10,000``); other values as text."""
    if isinstance(value, bool) or not isinstance(value, int):
        return str(value)
    lang = (language or translation.get_language() or "zh-hans").lower()
    _decimal_sep, thousand_sep = SEPARATORS["en" if lang.startswith("en") else "zh"]
    return numberformat.format(
        value, ".", grouping=3, thousand_sep=thousand_sep, force_grouping=True, use_l10n=True
    )
