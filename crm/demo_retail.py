"""The Online Retail file (UCI, UK time) loaded as the supermarket's online-mall history, through
``ingest_transactions`` like any import: invoices with their lines, cancellations linked to
their originals, rejected lines reported. Running it again changes nothing (ingestion is
idempotent)."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from crm.models import (
    BusinessUnit,
    Channel,
    TransactionKind,
)
from crm.services import (
    IdentityInput,
    RowError,
    TransactionInput,
    ingest_transactions,
)

RETAIL_FILE = Path(__file__).resolve().parent / "demo_data" / "online_retail_30k.csv"
RETAIL_SOURCE = "online_retail"
RETAIL_TZ = ZoneInfo("Europe/London")


@dataclass
class _Invoice:
    number: str
    customer_id: str
    country: str
    occurred_at: datetime
    lines: list[dict[str, Any]] = field(default_factory=list)
    amount: Decimal = Decimal("0")
    first_line: int = 0


@dataclass
class RetailLoad:
    lines: int
    invoices: int
    rejected_lines: list[RowError]
    result: dict[str, Any]


def _customer_key(raw: str) -> str:
    """``12923.0`` → ``12923``; empty for a guest line."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    return str(int(Decimal(raw)))


def read_online_retail(path: Path = RETAIL_FILE) -> tuple[list[_Invoice], list[RowError], int]:
    """Group the file's lines into invoices; lines that cannot be a sale are reported."""
    invoices: dict[str, _Invoice] = {}
    rejected: list[RowError] = []
    count = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for line_no, row in enumerate(csv.DictReader(handle), start=2):
            count += 1
            number = row["InvoiceNo"].strip()
            try:
                quantity = int(row["Quantity"])
                price = Decimal(row["UnitPrice"])
            except (ValueError, InvalidOperation):
                rejected.append(RowError(line_no, "Quantity", "not a number", number))
                continue
            if price <= 0:
                rejected.append(
                    RowError(
                        line_no,
                        "UnitPrice",
                        f"unit price {price} ≤ 0 is not a sale "
                        f"({(row['Description'] or 'no description').strip()})",
                        number,
                    )
                )
                continue
            if quantity == 0:
                rejected.append(RowError(line_no, "Quantity", "quantity 0", number))
                continue
            invoice = invoices.get(number)
            if invoice is None:
                invoice = invoices[number] = _Invoice(
                    number=number,
                    customer_id=_customer_key(row["CustomerID"]),
                    country=row["Country"].strip(),
                    occurred_at=datetime.strptime(row["InvoiceDate"], "%Y-%m-%d %H:%M:%S").replace(
                        tzinfo=RETAIL_TZ
                    ),
                    first_line=line_no,
                )
            invoice.lines.append(
                {
                    "sku": row["StockCode"].strip(),
                    "description": (row["Description"] or "").strip(),
                    "quantity": quantity,
                    "unit_price": str(price),
                }
            )
            invoice.amount += quantity * price
    return list(invoices.values()), rejected, count


def _originals(invoices: list[_Invoice]) -> dict[str, str]:
    """A cancellation's original: the customer's latest earlier invoice with the same stock
    code that still has enough left to refund (the file does not say; this is how staff
    would look for it). A cancellation without one is stored unlinked."""
    by_customer: dict[str, list[_Invoice]] = defaultdict(list)
    for inv in invoices:
        if inv.customer_id and not inv.number.startswith("C"):
            by_customer[inv.customer_id].append(inv)
    left = {inv.number: inv.amount for inv in invoices if not inv.number.startswith("C")}
    found = {}
    cancellations = [i for i in invoices if i.number.startswith("C") and i.customer_id]
    for inv in sorted(cancellations, key=lambda i: (i.occurred_at, i.number)):
        skus = {line["sku"] for line in inv.lines}
        earlier = [
            p
            for p in by_customer.get(inv.customer_id, [])
            if p.occurred_at <= inv.occurred_at
            and left[p.number] >= -inv.amount
            and skus & {line["sku"] for line in p.lines}
        ]
        if earlier:
            original = max(earlier, key=lambda p: (p.occurred_at, p.number))
            found[inv.number] = original.number
            left[original.number] += inv.amount
    return found


def _retail_rows(invoices: list[_Invoice]) -> Iterator[TransactionInput]:
    originals = _originals(invoices)
    # Purchases before cancellations, so a cancellation finds its original in the database.
    for inv in sorted(invoices, key=lambda i: (i.number.startswith("C"), i.occurred_at)):
        cancellation = inv.number.startswith("C")
        yield TransactionInput(
            external_id=inv.number,
            occurred_at=inv.occurred_at,
            amount=inv.amount,
            channel=Channel.ONLINE_MALL,
            currency="GBP",
            kind=TransactionKind.CANCELLATION if cancellation else TransactionKind.PURCHASE,
            original_external_id=originals.get(inv.number, ""),
            identities=(
                [IdentityInput("external", f"{RETAIL_SOURCE}:{inv.customer_id}", True)]
                if inv.customer_id
                else []
            ),
            # No name in the file: the customer is named after its id, marked generated.
            customer_attributes={"region": inv.country} if inv.customer_id else {},
            lines=inv.lines,
            line_number=inv.first_line,
        )


def load_online_retail(unit: BusinessUnit, path: Path = RETAIL_FILE) -> RetailLoad:
    invoices, rejected, lines = read_online_retail(path)
    result = ingest_transactions(
        business_unit=unit, source=RETAIL_SOURCE, rows=_retail_rows(invoices)
    )
    data = result.as_dict(max_errors=1000)
    data["rejected_lines"] = len(rejected)
    return RetailLoad(lines=lines, invoices=len(invoices), rejected_lines=rejected, result=data)
