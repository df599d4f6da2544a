"""The HTTP floor's first row: a WSGI application with no framework at all, served by the
same gunicorn command as the project (``tests/bench/http_floor.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b'{"ok":true}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["wsgi.input"].read()  # a POST's body is read, as any application would
    start_response("200 OK", HEADERS)
    return [BODY]
