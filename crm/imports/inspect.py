"""What the form and the dry-run page need to know about a file before importing it: its
header, the columns recognised, the number convention its amounts speak for, whether it has a
currency column and whether its rows are order lines (order ids repeated)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from crm.imports.columns import (
    AMOUNT_COLUMNS,
    ColumnSet,
    is_line_level,
    missing_columns,
    suggest_positions,
)
from crm.imports.files import Table, cell_text, is_blank
from crm.imports.numbers import detect_decimal_mark, normalize_id
from crm.imports.options import ImportOptions

SCAN_ROWS = 5000  # rows read to judge the number convention and repeated order ids


@dataclass
class Inspection:
    format: str
    encoding: str
    header_line: int
    header: list[str]
    columns: dict[str, int]  # column -> index: the options' mapping, else the names recognised
    missing: list[str]  # required columns not found
    decimal_mark: str | None  # proposed: "." or ","; None when the amounts do not tell
    decimal_evidence: dict[str, int]
    has_currency_column: bool
    line_level: bool  # one row per order line: line columns, or order ids repeated
    repeated_order_ids: int  # order ids seen on more than one of the rows scanned
    rows_scanned: int
    sample: list[list[str]] = field(default_factory=list)  # the first rows, as text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def inspect_table(
    table: Table,
    *,
    options: ImportOptions | None = None,
    sample_rows: int = 200,
    scan_rows: int = SCAN_ROWS,
    columns: ColumnSet | None = None,
) -> Inspection:
    """Read the first ``max(sample_rows, scan_rows)`` rows of ``table`` (consumed) and say
    what they show; never refuses a file for its columns (``missing`` lists them).
    ``columns``: another importer's columns (no amounts, order ids or lines to judge)."""
    options = options or ImportOptions()
    header = [cell_text(cell) for cell in table.header]
    if columns is not None:
        return _inspect_records(table, header, columns, options, sample_rows)
    positions = (
        dict(options.mapping) if options.mapping is not None else suggest_positions(table.header)
    )
    amount_cells: list[Any] = []
    order_ids: dict[str, int] = {}
    sample: list[list[str]] = []
    scanned = 0
    id_index = positions.get("external_id")
    limit = max(sample_rows, scan_rows)
    for _line, cells in table.rows:
        if is_blank(cells):
            continue
        scanned += 1
        if len(sample) < sample_rows:
            sample.append([cell_text(cell) for cell in cells])
        for column in AMOUNT_COLUMNS:
            index = positions.get(column)
            if index is not None and index < len(cells):
                amount_cells.append(cells[index])
        if id_index is not None and id_index < len(cells):
            try:
                order_id = normalize_id(cells[id_index])[0]
            except ValueError:
                order_id = cell_text(cells[id_index])
            if order_id:
                order_ids[order_id] = order_ids.get(order_id, 0) + 1
        if scanned >= limit:
            break
    mark, evidence = detect_decimal_mark(amount_cells)
    repeated = sum(1 for count in order_ids.values() if count > 1)
    return Inspection(
        format=table.format,
        encoding=table.encoding,
        header_line=table.header_line,
        header=header,
        columns=positions,
        missing=missing_columns(positions),
        decimal_mark=mark,
        decimal_evidence=evidence,
        has_currency_column="currency" in positions,
        line_level=is_line_level(positions) or repeated > 0,
        repeated_order_ids=repeated,
        rows_scanned=scanned,
        sample=sample,
    )


def _inspect_records(
    table: Table, header: list[str], columns: ColumnSet, options: ImportOptions, sample_rows: int
) -> Inspection:
    positions = dict(options.mapping) if options.mapping is not None else columns.suggest(header)
    sample: list[list[str]] = []
    for _line, cells in table.rows:
        if is_blank(cells):
            continue
        sample.append([cell_text(cell) for cell in cells])
        if len(sample) >= sample_rows:
            break
    return Inspection(
        format=table.format,
        encoding=table.encoding,
        header_line=table.header_line,
        header=header,
        columns=positions,
        missing=columns.missing(positions),
        decimal_mark=None,
        decimal_evidence={},
        has_currency_column=False,
        line_level=False,
        repeated_order_ids=0,
        rows_scanned=len(sample),
        sample=sample,
    )
