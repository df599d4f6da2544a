"""What an ingest reports: rejected rows, warnings and the counts a dry run predicts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import ngettext

MAX_WARNING_LINES = 5


@dataclass(frozen=True)
class RowError:
    line: int | None
    field: str
    reason: str
    external_id: str = ""
    code: str = "invalid_transaction"

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "field": self.field,
            "reason": self.reason,
            "external_id": self.external_id,
        }


# code -> the sentence for ``count`` rows (``detail`` holds the code's own values)
_WARNING_TEXTS: dict[str, Callable[[int, dict[str, str]], str]] = {}


def register_warning(code: str, text: Callable[[int, dict[str, str]], str]) -> None:
    """Declare a warning code and its sentence (evaluated in the reader's language)."""
    _WARNING_TEXTS[code] = text


@dataclass
class IngestWarning:
    """Rows that were kept but deserve a look: how many, some of their lines."""

    code: str
    count: int = 0
    lines: list[int] = field(default_factory=list)
    detail: dict[str, str] = field(default_factory=dict)

    def message(self) -> str:
        text = _WARNING_TEXTS.get(self.code)
        return text(self.count, self.detail) if text else self.code

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message(),
            "count": self.count,
            "lines": self.lines,
        }


@dataclass
class WarningLog:
    """Warnings by code, in the order they first happened."""

    items: dict[str, IngestWarning] = field(default_factory=dict)

    def add(self, code: str, line: int | None, count: int = 1, **detail: str) -> None:
        item = self.items.setdefault(code, IngestWarning(code))
        item.count += count
        if line is not None and len(item.lines) < MAX_WARNING_LINES:
            item.lines.append(line)
        for key, value in detail.items():
            if key not in item.detail:
                item.detail[key] = value
            elif value not in item.detail[key].split(", "):
                item.detail[key] = f"{item.detail[key]}, {value}"[:200]

    def merge(self, other: WarningLog) -> None:
        for item in other.items.values():
            mine = self.items.setdefault(item.code, IngestWarning(item.code))
            mine.count += item.count
            room = MAX_WARNING_LINES - len(mine.lines)
            mine.lines += item.lines[: max(0, room)]
            for key, value in item.detail.items():
                mine.detail.setdefault(key, value)

    def count(self, code: str) -> int:
        item = self.items.get(code)
        return item.count if item else 0

    def as_list(self) -> list[dict[str, Any]]:
        return [item.as_dict() for item in self.items.values()]


@dataclass
class IngestResult:
    received: int = 0
    created: int = 0
    lines: int = 0
    cancellations: int = 0
    duplicates: int = 0
    guests: int = 0
    customers_created: int = 0
    cancellations_linked: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: WarningLog = field(default_factory=WarningLog)
    # Customers that existed before and received orders (new ones are counted apart).
    matched_customer_ids: set[int] = field(default_factory=set)
    created_customer_ids: set[int] = field(default_factory=set)
    # Cancellations stored unlinked (id -> line) and earlier ones linked late, by this run.
    waiting: dict[int, int | None] = field(default_factory=dict)
    linked_late: set[int] = field(default_factory=set)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    @property
    def customers_matched(self) -> int:
        return len(self.matched_customer_ids - self.created_customer_ids)

    def add(self, part: IngestResult) -> None:
        """Count a stored batch in (``received`` is counted as rows are read)."""
        self.created += part.created
        self.lines += part.lines
        self.cancellations += part.cancellations
        self.duplicates += part.duplicates
        self.guests += part.guests
        self.customers_created += part.customers_created
        self.cancellations_linked += part.cancellations_linked
        self.errors += part.errors
        self.warnings.merge(part.warnings)
        self.matched_customer_ids |= part.matched_customer_ids
        self.created_customer_ids |= part.created_customer_ids
        self.waiting.update(part.waiting)
        for pk in part.linked_late:
            self.waiting.pop(pk, None)
        self.linked_late |= part.linked_late

    def as_dict(self, max_errors: int = 200) -> dict[str, Any]:
        return {
            "received": self.received,
            "created": self.created,
            "lines": self.lines,
            "cancellations": self.cancellations,
            "duplicates": self.duplicates,
            "guests": self.guests,
            "customers_created": self.customers_created,
            "customers_matched": self.customers_matched,
            "cancellations_linked": self.cancellations_linked,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in self.errors[:max_errors]],
            "warnings": self.warnings.as_list(),
        }


register_warning(
    "other_source",
    lambda n, d: ngettext(
        "%(count)s order is already stored under another source (%(sources)s) with the same "
        "order id: importing it under this source counts it twice.",
        "%(count)s orders are already stored under another source (%(sources)s) with the same "
        "order ids: importing them under this source counts them twice.",
        n,
    )
    % {"count": n, "sources": d.get("sources", "")},
)
register_warning(
    "same_purchase",
    lambda n, d: ngettext(
        "%(count)s order has the same customer, time and amount as an order stored under "
        "another source (%(sources)s): probably the same purchase.",
        "%(count)s orders have the same customer, time and amount as orders stored under "
        "another source (%(sources)s): probably the same purchases.",
        n,
    )
    % {"count": n, "sources": d.get("sources", "")},
)
register_warning(
    "late_cancellation_refused",
    lambda n, d: ngettext(
        "%(count)s cancellation stored earlier names an order of this file but refunds more "
        "than the order (or in another currency): it was left unlinked.",
        "%(count)s cancellations stored earlier name orders of this file but refund more than "
        "the orders (or in another currency): they were left unlinked.",
        n,
    )
    % {"count": n},
)
register_warning(
    "cancellation_waiting",
    lambda n, d: ngettext(
        "%(count)s cancellation names an order that is not stored yet: it is kept unlinked "
        "and linked when that order is imported.",
        "%(count)s cancellations name orders that are not stored yet: they are kept unlinked "
        "and linked when those orders are imported.",
        n,
    )
    % {"count": n},
)
