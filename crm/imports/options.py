"""What the person importing a file says about it: which column holds what, the number
convention, the time zone of naive times and the currency of rows that name none.

The upload form proposes each of these from the file (``crm.imports.mapping`` suggests the
columns, ``crm.imports.rows`` detects the number convention) and the dry run shows what was
used, so nothing about a file is guessed silently. A job carries them as ``as_dict()``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from crm.imports.currencies import CurrencyError, check_currency_code
from crm.imports.files import ImportFileError

DECIMAL_POINT = "."
DECIMAL_COMMA = ","
DECIMAL_MARKS = (DECIMAL_POINT, DECIMAL_COMMA)
DEFAULT_TIME_ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class ImportOptions:
    """``mapping`` is ``column -> index`` in the header row (``None``: recognise the known
    header names); ``decimal_mark`` is ``.`` or ``,``; ``time_zone`` an IANA name for times
    written without an offset; ``currency`` the ISO code of rows without a currency."""

    mapping: dict[str, int] | None = None
    decimal_mark: str = DECIMAL_POINT
    time_zone: str = DEFAULT_TIME_ZONE
    currency: str = "CNY"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.decimal_mark not in DECIMAL_MARKS:
            raise ImportFileError(
                _("The decimal mark must be “.” or “,”, not “%(value)s”.")
                % {"value": self.decimal_mark}
            )
        try:
            # frozen: the checked code (an alias such as RMB becomes CNY) is set once here
            object.__setattr__(self, "currency", check_currency_code(self.currency))
        except CurrencyError as exc:
            raise ImportFileError(str(exc)) from exc
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ImportFileError(
                _("Unknown time zone “%(value)s”.") % {"value": self.time_zone}
            ) from exc

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ImportOptions:
        data = dict(data or {})
        mapping = data.get("mapping")
        return cls(
            mapping={str(k): int(v) for k, v in mapping.items()} if mapping else None,
            decimal_mark=str(data.get("decimal_mark") or DECIMAL_POINT),
            time_zone=str(data.get("time_zone") or DEFAULT_TIME_ZONE),
            currency=str(data.get("currency") or "CNY").upper(),
            extra=dict(data.get("extra") or {}),
        )
