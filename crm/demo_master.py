"""Demo customers: the Online Retail file as the supermarket's online-mall history, then
synthetic Chinese persons and companies across the other units (deterministic with a seed).

Everything goes through the real services (``ingest_transactions``, ``resolve_customer``,
``record_consent``, ``add_tag``), so the demo exercises what production does. Running it again
changes nothing: ingestion is idempotent and the synthetic part is keyed by identities.
"""

from __future__ import annotations

from typing import Any

from crm.demo_retail import RETAIL_FILE, RETAIL_SOURCE, RETAIL_TZ, RetailLoad, load_online_retail
from crm.demo_synthetic import SEED, SyntheticLoad, load_synthetic, make_uscc
from crm.models import BusinessUnit, Customer, CustomerKind

__all__ = [
    "RETAIL_FILE",
    "RETAIL_SOURCE",
    "RETAIL_TZ",
    "SEED",
    "RetailLoad",
    "SyntheticLoad",
    "load_master_demo",
    "load_online_retail",
    "load_synthetic",
    "make_uscc",
]


def load_master_demo(units: dict[str, BusinessUnit]) -> dict[str, Any]:
    retail = load_online_retail(units["MART"])
    synthetic = load_synthetic(units)
    return {
        "online_retail": {
            "lines": retail.lines,
            "invoices": retail.invoices,
            "rejected_lines": len(retail.rejected_lines),
            **{k: v for k, v in retail.result.items() if k != "errors"},
        },
        "synthetic": {
            "persons": synthetic.persons,
            "companies": synthetic.companies,
            "transactions": synthetic.transactions,
            "consents": synthetic.consents,
            "duplicates_found": synthetic.duplicates_found,
        },
        "customers": Customer.objects.live().count(),
        "organizations": Customer.objects.live().filter(kind=CustomerKind.ORGANIZATION).count(),
        "rejected": [e.as_dict() for e in retail.rejected_lines],
    }
