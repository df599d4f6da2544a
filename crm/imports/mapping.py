"""Which column of a file holds what: suggestions from known header names, saved mappings.

``suggest_mapping`` proposes ``column -> index`` from the Chinese and English header names in
``crm.imports.columns.COLUMNS``; a saved ``ImportMapping`` (per unit and importer kind) stores
``column -> header text`` and is proposed again for a file whose header row has the same
signature. Nothing here refuses a file: the mapping step shows what is missing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from crm.imports.columns import TRANSACTION_COLUMNS, ColumnSet, normalize_header
from crm.imports.files import cell_text
from crm.imports.inspect import Inspection
from crm.imports.options import DECIMAL_COMMA, DECIMAL_POINT, ImportOptions
from crm.models import BusinessUnit, ImportMapping, User

TRANSACTIONS_KIND = "transactions"


def suggest_mapping(
    header: Sequence[Any], columns: ColumnSet = TRANSACTION_COLUMNS
) -> dict[str, int]:
    """``column -> index`` of the headers that name a known column (the first one wins)."""
    return columns.suggest(header)


@dataclass(frozen=True)
class DecimalProposal:
    """The number convention proposed for a file's amounts and why: how many values only a
    decimal point explains, only a decimal comma, either, and whether they disagree."""

    mark: str
    point: int = 0
    comma: int = 0
    ambiguous: int = 0
    detected: bool = False

    @property
    def mixed(self) -> bool:
        return self.point > 0 and self.comma > 0


def propose_decimal_mark(inspection: Inspection) -> DecimalProposal:
    """The convention the file's amounts speak for (the decimal point when nothing decides)."""
    evidence = inspection.decimal_evidence
    return DecimalProposal(
        mark=inspection.decimal_mark or DECIMAL_POINT,
        point=evidence.get(DECIMAL_POINT, 0),
        comma=evidence.get(DECIMAL_COMMA, 0),
        ambiguous=evidence.get("ambiguous", 0),
        detected=inspection.decimal_mark is not None,
    )


def header_signature(header: Sequence[Any]) -> str:
    """The same for two header rows that differ only in case, spaces or hyphens."""
    normalized = [normalize_header(raw) for raw in header]
    return hashlib.sha256(json.dumps(normalized, ensure_ascii=False).encode()).hexdigest()


def mapping_to_headers(mapping: Mapping[str, int], header: Sequence[Any]) -> dict[str, str]:
    """``column -> header text``: how a mapping is saved, independent of column order."""
    return {
        column: cell_text(header[index])
        for column, index in mapping.items()
        if 0 <= index < len(header)
    }


def headers_to_mapping(
    saved: Mapping[str, str], header: Sequence[Any], columns: ColumnSet = TRANSACTION_COLUMNS
) -> dict[str, int]:
    """A saved ``column -> header text`` applied to a file; headers it lacks stay unmapped."""
    positions: dict[str, int] = {}
    for index, raw in enumerate(header):
        positions.setdefault(normalize_header(raw), index)
    mapping: dict[str, int] = {}
    for column, text in saved.items():
        found = positions.get(normalize_header(text))
        if column in columns.columns and found is not None:
            mapping[column] = found
    return mapping


def saved_mappings(
    *, business_unit: BusinessUnit, kind: str = TRANSACTIONS_KIND
) -> list[ImportMapping]:
    return list(
        ImportMapping.objects.for_file(business_unit=business_unit, kind=kind).order_by(
            "-updated_at", "name"
        )
    )


def matching_mapping(
    mappings: Sequence[ImportMapping], header: Sequence[Any]
) -> ImportMapping | None:
    """The most recently used saved mapping made for a file with these very headers."""
    signature = header_signature(header)
    return next((m for m in mappings if m.header_signature == signature), None)


def save_mapping(
    *,
    business_unit: BusinessUnit,
    name: str,
    header: Sequence[Any],
    options: ImportOptions,
    user: User | None,
    kind: str = TRANSACTIONS_KIND,
) -> ImportMapping:
    """Save (or replace) the unit's mapping called ``name`` with these options."""
    values = {
        "header_signature": header_signature(header),
        "mapping": mapping_to_headers(options.mapping or {}, header),
        "decimal_mark": options.decimal_mark,
        "time_zone": options.time_zone,
        "currency": options.currency,
    }
    with transaction.atomic():
        saved, _created = ImportMapping.objects.update_or_create(
            business_unit=business_unit,
            kind=kind,
            name=name.strip()[:80],
            defaults=values,
            create_defaults={**values, "created_by": user},
        )
    return saved
