"""Replacing every row of a derived table at once (the customer metrics): the new rows go
into a fresh table without indexes, its indexes and constraints are built from the current
table's own definitions (read from the catalogue, so they always match the migrations), and
the fresh table takes the old one's place, all inside the caller's transaction.

An ``INSERT … ON CONFLICT DO UPDATE`` of millions of rows writes every row twice (new version,
dead version) and inserts into every index row by row; a bulk load into a bare table and one
sorted pass per index is several times faster. Readers keep reading the old table until the
swap; the swap itself (``DROP`` and renames) holds the old table's exclusive lock for
milliseconds, just before the commit. No other table may reference a swapped table (``DROP``
without ``CASCADE`` refuses, loudly, if one ever does).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import OperationalError
from django.utils.translation import gettext as _

from crm.errors import DomainError

# How long the swap waits for readers of the old table (an export reading it for minutes)
# before it gives up: while it waits, every new reader queues behind its lock.
SWAP_LOCK_TIMEOUT_MS = 10_000


class TableBusy(DomainError):
    code = "table_busy"


_INDEX = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON (\S+) (.*)$", re.DOTALL)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def next_table(table: str) -> str:
    """The name of the fresh table the caller loads (``<table>__next``)."""
    return f"{table}__next"


def start_rebuild(cursor: Any, table: str) -> str:
    """Create the empty fresh table shaped like ``table`` (columns, defaults, identity) and
    return its name; the caller then ``INSERT``s every row into it."""
    fresh = next_table(table)
    cursor.execute(f"DROP TABLE IF EXISTS {_ident(fresh)}")
    cursor.execute(
        f"CREATE TABLE {_ident(fresh)} (LIKE {_ident(table)} "
        "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE)"
    )
    return fresh


def finish_rebuild(cursor: Any, table: str, *, lock_timeout_ms: int | None = None) -> None:
    """Give the loaded fresh table ``table``'s constraints and indexes (same definitions),
    analyze it, then swap it in for ``table``. If readers hold the old table longer than
    ``lock_timeout_ms``, refuse (:class:`TableBusy`; the caller's transaction is rolled back
    and the old rows stay) rather than make every new reader wait behind the swap."""
    swap_rebuild(cursor, table, prepare_rebuild(cursor, table), lock_timeout_ms=lock_timeout_ms)


def lock_or_refuse(cursor: Any, statement: str, *, lock_timeout_ms: int | None = None) -> None:
    """Run ``statement`` (one that takes a lock) waiting at most ``lock_timeout_ms`` for it;
    past it, :class:`TableBusy`."""
    timeout = SWAP_LOCK_TIMEOUT_MS if lock_timeout_ms is None else lock_timeout_ms
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(timeout)}ms"])
    try:
        cursor.execute(statement)
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", "") != "55P03":  # lock_not_available
            raise
        raise TableBusy(
            _("The figures are being read by another task; try again in a few minutes.")
        ) from error
    cursor.execute("SELECT set_config('lock_timeout', '0', true)")


def prepare_rebuild(cursor: Any, table: str) -> list[str]:
    """The first half of :func:`finish_rebuild`: the loaded fresh table analyzed and given
    ``table``'s constraints and indexes under temporary names; returns the renames
    :func:`swap_rebuild` applies. Nothing here locks ``table``: readers and writers of the old
    rows go on."""
    fresh = next_table(table)
    # Statistics first: the foreign keys are validated by a join the planner plans with them.
    cursor.execute(f"ANALYZE {_ident(fresh)}")
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'c', 'f', 'x') "
        "ORDER BY contype DESC, conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = x.indrelid "
        "AND c.conindid = x.indexrelid AND c.contype IN ('p', 'u', 'x')) ORDER BY 1",
        [table],
    )
    indexes = cursor.fetchall()
    renames: list[str] = []
    # Constraints backed by an index (primary key, unique) get a temporary name (index names
    # are unique in the schema); checks and foreign keys keep theirs (unique per table).
    adds = []
    for index, (name, kind, definition) in enumerate(constraints):
        if kind in ("p", "u", "x"):
            temporary = f"{table[:40]}__next_c{index}"
            adds.append(f"ADD CONSTRAINT {_ident(temporary)} {definition}")
            renames.append(
                f"ALTER TABLE {_ident(table)} RENAME CONSTRAINT {_ident(temporary)} "
                f"TO {_ident(name)}"
            )
        elif kind == "c":
            adds.append(f"ADD CONSTRAINT {_ident(name)} {definition}")
    if adds:  # one statement: the checks are verified in one pass over the rows
        cursor.execute(f"ALTER TABLE {_ident(fresh)} " + ", ".join(adds))
    for name, kind, definition in constraints:
        if kind == "f":
            cursor.execute(
                f"ALTER TABLE {_ident(fresh)} ADD CONSTRAINT {_ident(name)} {definition}"
            )
    for index, (name, definition) in enumerate(indexes):
        found = _INDEX.match(definition)
        if found is None:
            raise ValueError(f"unexpected index definition: {definition}")
        temporary = f"{table[:40]}__next_i{index}"
        unique = found.group(1) or ""
        cursor.execute(
            f"CREATE {unique}INDEX {_ident(temporary)} ON {_ident(fresh)} {found.group(4)}"
        )
        renames.append(f"ALTER INDEX {_ident(temporary)} RENAME TO {_ident(name)}")
    return renames


def swap_rebuild(
    cursor: Any, table: str, renames: list[str], *, lock_timeout_ms: int | None = None
) -> None:
    """The second half of :func:`finish_rebuild`: the old table dropped (its exclusive lock,
    held to the commit) and the prepared fresh one renamed into its place."""
    fresh = next_table(table)
    lock_or_refuse(cursor, f"DROP TABLE {_ident(table)}", lock_timeout_ms=lock_timeout_ms)
    cursor.execute(f"ALTER TABLE {_ident(fresh)} RENAME TO {_ident(table)}")
    for statement in renames:
        cursor.execute(statement)
