"""Currencies as files write them: ISO 4217 codes, signs and Chinese or English names.

A value that is neither a current ISO 4217 code nor one of the aliases below is refused (a
row error), never stored as whatever three letters it had.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from crm.imports.files import cell_text

# ISO 4217 active codes (2024), funds and precious metals left out.
_ISO_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP
    MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR
    RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT
    TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW
    ZWG
"""
ISO_CURRENCIES = frozenset(_ISO_CODES.split())

# Lower-case alias -> ISO code. A bare "$" or "元" names no single currency outside its
# country; "元" is read as the Chinese yuan because the product's files are Chinese.
CURRENCY_ALIASES: dict[str, str] = {
    "rmb": "CNY",
    "元": "CNY",
    "圆": "CNY",
    "人民币": "CNY",
    "人民幣": "CNY",
    "¥": "CNY",
    "￥": "CNY",
    "cn¥": "CNY",
    "yuan": "CNY",
    "renminbi": "CNY",
    "£": "GBP",
    "英镑": "GBP",
    "英鎊": "GBP",
    "sterling": "GBP",
    "pound sterling": "GBP",
    "€": "EUR",
    "欧元": "EUR",
    "歐元": "EUR",
    "euro": "EUR",
    "us$": "USD",
    "美元": "USD",
    "美金": "USD",
    "us dollar": "USD",
    "hk$": "HKD",
    "港币": "HKD",
    "港元": "HKD",
    "港幣": "HKD",
    "日元": "JPY",
    "日圆": "JPY",
    "円": "JPY",
    "韩元": "KRW",
    "₩": "KRW",
    "台币": "TWD",
    "新台币": "TWD",
    "nt$": "TWD",
    "澳门元": "MOP",
    "澳门币": "MOP",
    "mop$": "MOP",
    "新加坡元": "SGD",
    "新币": "SGD",
    "s$": "SGD",
    "澳元": "AUD",
    "a$": "AUD",
    "加元": "CAD",
    "c$": "CAD",
    "瑞士法郎": "CHF",
    "卢布": "RUB",
    "₽": "RUB",
    "泰铢": "THB",
    "฿": "THB",
    "卢比": "INR",
    "₹": "INR",
}


class CurrencyError(ValueError):
    """A currency cell that names no known currency (a sentence for people)."""


def parse_currency(value: Any) -> str | None:
    """The ISO code a cell names; ``None`` for an empty cell; ``CurrencyError`` otherwise."""
    text = " ".join(cell_text(value).split())
    if not text:
        return None
    if text.upper() in ISO_CURRENCIES:
        return text.upper()
    code = CURRENCY_ALIASES.get(text.lower())
    if code is None:
        raise CurrencyError(
            _(
                "“%(value)s” is not a currency: use an ISO 4217 code such as CNY, GBP or USD "
                "(人民币, RMB, 元, £, €, US$ and HK$ are understood too)."
            )
            % {"value": text[:40]}
        )
    return code


def check_currency_code(code: str) -> str:
    """``code`` as an ISO code; ``CurrencyError`` when it is not one (the form's default)."""
    checked = parse_currency(code)
    if checked is None:
        raise CurrencyError(_("A currency is required."))
    return checked
