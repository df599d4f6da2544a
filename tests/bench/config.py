"""What the benchmark runs against: sizes from the environment and the bench database.

Read before Django is set up (``settings.py`` here needs the database name), so this module
imports nothing from Django or the project.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

DEFAULT_CUSTOMERS = 1_000_000
DEFAULT_TRANSACTIONS = 10_000_000
# The B2B accounts data set (issue 17): organizations with accounts, person contacts,
# opportunities. At the default master size these defaults; otherwise scaled to it.
DEFAULT_ACCOUNTS = 200_000
DEFAULT_CONTACTS = 1_000_000
DEFAULT_OPPORTUNITIES = 500_000
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").replace("_", "").strip()
    if not raw:
        return default
    value = int(raw)
    if value <= 0:
        raise SystemExit(f"{name} must be a positive integer, not {raw!r}")
    return value


@dataclass(frozen=True)
class BenchConfig:
    customers: int
    transactions: int
    database: str
    iterations: int
    ingest_rows: int
    chunk: int
    seed: int
    accounts: int = 0
    contacts: int = 0
    opportunities: int = 0

    @property
    def default_size(self) -> bool:
        return (self.customers, self.transactions) == (DEFAULT_CUSTOMERS, DEFAULT_TRANSACTIONS)


def load() -> BenchConfig:
    """Sizes and names from ``BENCH_*`` variables (see README.md)."""
    customers = _positive_int("BENCH_CUSTOMERS", DEFAULT_CUSTOMERS)
    transactions = _positive_int("BENCH_TRANSACTIONS", DEFAULT_TRANSACTIONS)
    default = (customers, transactions) == (DEFAULT_CUSTOMERS, DEFAULT_TRANSACTIONS)
    b2b_defaults = _b2b_defaults(customers)
    b2b = (
        _positive_int("BENCH_ACCOUNTS", b2b_defaults[0]),
        _positive_int("BENCH_CONTACTS", b2b_defaults[1]),
        _positive_int("BENCH_OPPORTUNITIES", b2b_defaults[2]),
    )
    # Each size gets its own database, so a smoke run never throws away the big data set.
    name = "crm_bench" if default else f"crm_bench_{customers}_{transactions}"
    if b2b != b2b_defaults:  # accounts sized apart from the master: a database of their own
        name += "_a{}_{}_{}".format(*b2b)
    database = os.environ.get("BENCH_DATABASE", "").strip() or name
    if not _DB_NAME.match(database):
        raise SystemExit(f"BENCH_DATABASE {database!r} is not a plain lowercase identifier")
    return BenchConfig(
        customers=customers,
        transactions=transactions,
        database=database,
        iterations=_positive_int("BENCH_ITERATIONS", 100),
        ingest_rows=_positive_int("BENCH_INGEST_ROWS", 100_000),
        chunk=_positive_int("BENCH_CHUNK", 200_000),
        seed=_positive_int("BENCH_SEED", 20261124),
        accounts=b2b[0],
        contacts=b2b[1],
        opportunities=b2b[2],
    )


def _b2b_defaults(customers: int) -> tuple[int, int, int]:
    """Accounts, contacts, opportunities: full size with the full master, else in proportion
    (a fifth of the customers as accounts, as many contacts, half as many opportunities)."""
    if customers == DEFAULT_CUSTOMERS:
        return DEFAULT_ACCOUNTS, DEFAULT_CONTACTS, DEFAULT_OPPORTUNITIES
    return max(2, customers // 5), max(2, customers), max(2, customers // 2)
