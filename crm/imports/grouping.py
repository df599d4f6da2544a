"""Line-level files: one row per order line, the order id repeated (the Online Retail export,
most POS and ERP exports). The rows of one order id become one order whose lines are those
rows and whose amount is the sum of the lines.

Rows of one order need not be next to each other. The file is read twice: the first pass
counts the rows of every order id (a dict of ids, nothing else), the second holds an order's
rows only until the last of them has arrived, so memory follows how far apart an order's rows
are, not the size of the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.imports.files import Table, cell_text, is_blank
from crm.imports.numbers import normalize_id
from crm.imports.rows import LineInput
from crm.models import TransactionKind
from crm.services import RowError, TransactionInput, WarningLog, register_warning

Mapped = tuple[TransactionInput | RowError, LineInput | RowError]


def order_key(value: Any) -> str:
    """The order id a cell holds, as the mapping reads it (``12347.0`` is ``12347``)."""
    try:
        return normalize_id(value)[0]
    except ValueError:
        return cell_text(value)


def count_orders(table: Table, id_index: int) -> dict[str, int]:
    """Rows per order id in a table (consumed): the first pass."""
    counts: dict[str, int] = {}
    for _line, cells in table.rows:
        if is_blank(cells):
            continue
        key = order_key(cells[id_index]) if id_index < len(cells) else ""
        counts[key] = counts.get(key, 0) + 1
    return counts


def group_orders(
    rows: Iterable[tuple[str, Mapped]],
    counts: dict[str, int] | None,
    *,
    kind_given: bool,
    warnings: WarningLog,
) -> Iterator[TransactionInput | list[RowError]]:
    """Orders from ``(order id, mapped row)`` pairs: each as soon as its last row arrived
    (``counts`` from the first pass; ``None``: every order waits for the end of the file)."""
    pending: dict[str, list[Mapped]] = {}
    for key, mapped in rows:
        if not key:  # no order id: an order of its own (the service says what is wrong)
            yield combine([mapped], kind_given=kind_given, warnings=warnings)
            continue
        bucket = pending.setdefault(key, [])
        bucket.append(mapped)
        if counts is not None and len(bucket) >= counts.get(key, 1):
            del pending[key]
            yield combine(bucket, kind_given=kind_given, warnings=warnings)
    for bucket in pending.values():  # only when the file changed between the passes
        yield combine(bucket, kind_given=kind_given, warnings=warnings)


def _line_of(mapped: Mapped) -> int:
    order, _line = mapped
    return (order.line_number if isinstance(order, TransactionInput) else order.line) or 0


def combine(
    bucket: list[Mapped], *, kind_given: bool, warnings: WarningLog
) -> TransactionInput | list[RowError]:
    """One order from its rows, or the row errors that keep it out."""
    bucket = sorted(bucket, key=_line_of)
    errors = [  # the first reason of each bad row
        next(part for part in mapped if isinstance(part, RowError))
        for mapped in bucket
        if any(isinstance(part, RowError) for part in mapped)
    ]
    if errors:
        if len(bucket) > 1:
            note = ngettext(
                " The order (%(count)s line) was not imported.",
                " The order (%(count)s lines) was not imported.",
                len(bucket),
            ) % {"count": len(bucket)}
            errors = [
                RowError(e.line, e.field, e.reason + note, e.external_id, e.code) for e in errors
            ]
        return errors
    orders = [order for order, _line in bucket if isinstance(order, TransactionInput)]
    lines = [line for _order, line in bucket if isinstance(line, LineInput)]
    return _combine_clean(orders, lines, kind_given=kind_given, warnings=warnings)


def _combine_clean(
    orders: list[TransactionInput],
    lines: list[LineInput],
    *,
    kind_given: bool,
    warnings: WarningLog,
) -> TransactionInput | list[RowError]:
    first = orders[0]
    external_id = str(first.external_id)

    def error(line: int | None, column: str, reason: str) -> list[RowError]:
        return [RowError(line, column, reason, external_id[:100])]

    checks: list[tuple[str, Any]] = [
        ("currency", lambda o: o.currency),
        ("channel", lambda o: o.channel),
        ("kind", lambda o: o.kind),
        ("original_external_id", lambda o: o.original_external_id),
        ("customer_external_id", lambda o: sorted((i.type, i.value) for i in o.identities)),
    ]
    for column, value in checks:
        for order in orders[1:]:
            if value(order) != value(first):
                return error(
                    order.line_number,
                    column,
                    _(
                        "The rows of order %(order)s disagree on %(column)s (line %(first)s "
                        "and line %(line)s); an order has one."
                    )
                    % {
                        "order": external_id,
                        "column": column,
                        "first": first.line_number,
                        "line": order.line_number,
                    },
                )
    total = sum((line.amount for line in lines), Decimal(0))
    # An amount column is the order's total (on one row or repeated on all), or each row's
    # own line amount; the data must say which, or the order is refused.
    stated = {o.amount for o in orders if o.amount != ""}
    per_line = all(o.amount == x.amount for o, x in zip(orders, lines, strict=True))
    if stated and stated != {total} and not per_line:
        return error(
            first.line_number,
            "amount",
            _("The order amount of %(order)s (%(stated)s) is not the sum of its lines (%(total)s).")
            % {
                "order": external_id,
                "stated": ", ".join(str(a) for a in sorted(stated, key=str)),
                "total": total,
            },
        )
    signs = {line.amount > 0 for line in lines if line.amount != 0}
    kind = first.kind
    if not kind_given or not kind:
        if len(signs) > 1:
            return error(
                first.line_number,
                "quantity",
                _(
                    "Order %(order)s mixes returned lines (negative) and sold lines; a return "
                    "is an order of its own."
                )
                % {"order": external_id},
            )
        kind = TransactionKind.CANCELLATION if signs == {False} else TransactionKind.PURCHASE
    times = {o.occurred_at for o in orders}
    if len(times) > 1:
        warnings.add("order_times_differ", first.line_number)
    attributes: dict[str, Any] = {}
    for order in orders:
        for key, value in order.customer_attributes.items():
            attributes.setdefault(key, value)
    return TransactionInput(
        external_id=external_id,
        occurred_at=min(times),
        amount=total,
        channel=first.channel,
        currency=first.currency,
        kind=kind,
        original_external_id=first.original_external_id,
        identities=first.identities,
        customer_attributes=attributes,
        lines=[line.item for line in lines],
        line_number=first.line_number,
    )


register_warning(
    "order_times_differ",
    lambda n, d: ngettext(
        "%(count)s order has lines with different times; the earliest is the order's time.",
        "%(count)s orders have lines with different times; the earliest is each order's time.",
        n,
    )
    % {"count": n},
)
