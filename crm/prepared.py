"""Prepared statements for the hot paths: ``prepared_cursor()``.

Django binds parameters client-side and never prepares (psycopg's ``prepare_threshold`` is
``None``, for transaction-pooling proxies), so PostgreSQL parses and plans every statement
on every run. For the few long data-modifying statements that partners call hundreds of times
a second (coupon redemption, points earn and redeem, lead claim-next), planning cost more than
running: a coupon redemption's statements took 0.4 ms each to plan against 0.1 ms to run, and
a points earn's statement is longer still. A cursor from ``prepared_cursor()`` binds
server-side and prepares each statement once per connection, then only sends its name and
parameters.

Only these cursors prepare: every other Django cursor stays as it was. Behind a proxy that
pools by transaction without full prepared-statement support (PgBouncer before 1.22, which
mishandles the ``DEALLOCATE ALL`` psycopg sends after a rollback, or
``max_prepared_statements = 0``), set ``PREPARED_STATEMENTS=false``: the cursor is then
Django's own and the statements run unprepared.

A rollback (a savepoint's too) makes psycopg drop every statement prepared on the
connection: a hot path refuses without rolling back where it can (claim-next commits its
empty transaction, then raises).

A statement run through this cursor takes its parameters' types from the values: cast
parameters whose type PostgreSQL cannot infer (``%(ids)s::bigint[]``), and pass ``None``
only where the statement casts it.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.utils import CursorDebugWrapper
from psycopg.adapt import AdaptersMap, PyFormat

# Statements prepared only when asked: Django's other cursors bind client-side and are
# never prepared; a server-side-binding cursor prepares after this many runs of a statement.
PREPARE_ONLY_WHEN_ASKED = 2**31 - 1


# The Python types the hot paths bind, server-side (format AUTO).
BOUND_TYPES = (bool, int, float, Decimal, str, bytes, date, datetime, timedelta, UUID, list, dict)
_warming = threading.Lock()


def warm_dumpers(adapters: AdaptersMap) -> None:
    """Resolve the dumpers of ``BOUND_TYPES`` once, under a lock. psycopg registers some of
    them by name and swaps the name for the class on first use, in the dictionary that every
    connection made from Django's adapters template shares (``AdaptersMap.get_dumper``: a
    check, a ``pop``, then the store): the first server-side bindings of 16 threads at once
    raced there and some were refused with "cannot adapt type 'Decimal'" (the members
    benchmark at a tiny scale)."""
    with _warming:
        for cls in BOUND_TYPES:
            for format in (PyFormat.AUTO, PyFormat.TEXT, PyFormat.BINARY):
                try:
                    adapters.get_dumper(cls, format)
                except psycopg.ProgrammingError:
                    continue  # no dumper of this type in this format: nothing to resolve


class _PreparedCursor(psycopg.Cursor[Any]):
    """Server-side binding; every statement prepared on first use and reused afterwards."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        return super().execute(query, params, prepare=True, binary=kwargs.get("binary"))


class _DebugCursor(CursorDebugWrapper):
    """Django's query log, which reads the statement back from the driver: a prepared
    execution leaves it empty there, so the text is written in."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        try:
            return super().execute(sql, params)
        finally:
            log = self.db.queries_log
            if log and log[-1]["sql"] is None:
                log[-1]["sql"] = sql


def prepared_cursor() -> Any:
    """A cursor through Django's wrappers (query log, execute wrappers, error translation)
    that prepares its statements (see the module's docstring), or Django's own cursor when
    ``PREPARED_STATEMENTS`` is off."""
    django_cursor = connection.cursor()  # connects, checks health and thread sharing
    if not getattr(settings, "PREPARED_STATEMENTS", True):
        return django_cursor
    pg = django_cursor.cursor.connection
    django_cursor.close()
    if pg.prepare_threshold is None:  # this connection's first prepared statement
        warm_dumpers(pg.adapters)
        pg.prepare_threshold = PREPARE_ONLY_WHEN_ASKED
    raw: Any = _PreparedCursor(pg)
    if connection.queries_logged:
        return _DebugCursor(raw, connection)
    return connection.make_cursor(raw)


def fetch_prepared(sql: str, params: dict[str, Any]) -> Any:
    """Run one prepared statement and return its first row, straight on the driver's
    connection: no Django cursor is made per statement (``prepared_cursor()`` makes three
    objects and a health check each time), only the query log is kept (``DEBUG``, the query
    counting of the tests). With ``PREPARED_STATEMENTS`` off, Django's own cursor runs it."""
    if not getattr(settings, "PREPARED_STATEMENTS", True):
        with connection.cursor() as django_cursor:
            django_cursor.execute(sql, params)
            return django_cursor.fetchone()
    db = connections[DEFAULT_DB_ALIAS]  # one look-up of the thread's connection, not eight
    db.ensure_connection()
    db.validate_thread_sharing()
    pg = db.connection
    cursor = getattr(db, "_fetch_prepared_cursor", None)
    if cursor is None or cursor.connection is not pg:
        if pg.prepare_threshold is None:
            warm_dumpers(pg.adapters)
            pg.prepare_threshold = PREPARE_ONLY_WHEN_ASKED
        cursor = db._fetch_prepared_cursor = _PreparedCursor(pg)  # type: ignore[attr-defined]
    logged = db.queries_logged
    started = time.monotonic() if logged else 0.0
    with db.wrap_database_errors:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if logged:
        db.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return row
