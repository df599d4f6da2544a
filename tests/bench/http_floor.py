"""The HTTP floor (``http_floor``): what a request costs before any app does anything.

Issues 15, 18, 19 and 21 set throughput goals over HTTP (order push >= 300/s, lead claims >=
300/s, coupon redemptions >= 500/s from 16 clients on this 2-core machine, where the load
generator and PostgreSQL share the cores with the server). This figure measures, with the same
gunicorn command (``BENCH_HTTP_WORKERS`` x ``BENCH_HTTP_THREADS``, gthread), the same client
(``http_load.load``) and the same production settings (``DEBUG=False``) as those figures,
requests that do nothing:

- ``wsgi``: a WSGI application without any framework (``floor_wsgi.py``): gunicorn and the
  client alone;
- ``django_view``: a Django view returning ``{"ok": true}`` through the project's middleware;
- ``api_get``: the platform's API view (``crm.api.base.ApiView``) with an API key: the key and
  rate-limit statement, scopes, the renderer;
- ``api_post_idempotent``: the same as a POST with an ``Idempotency-Key``: what every partner
  write (order push, points earn/redeem, coupon redemption) pays before its own work: the
  request's transaction, the idempotency key's row read and written.

Beside each: CPU milliseconds per request of the gunicorn workers, of the bench server's
PostgreSQL processes and of the client (this process), from ``/proc``, so that the figure
holds on a shared machine.
An app's route cannot be faster than the floor of its kind: if ``api_post_idempotent`` under
16 clients serves fewer than 500 requests a second, so does every idempotent write.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.bench.http_load import (
    HttpConfig,
    Request,
    _api_key,
    _drop_api_keys,
    gunicorn,
    measure_rows,
)


def _rows(key: str) -> dict[str, tuple[str, str, Any]]:
    api = {"Authorization": f"Api-Key {key}"}
    post = {**api, "Content-Type": "application/json"}
    return {
        "wsgi": (
            "tests.bench.floor_wsgi:app",
            "GET / of a WSGI application without a framework",
            lambda i: Request("GET", "/"),
        ),
        "django_view": (
            "crm.wsgi:application",
            "GET of a Django view answering {ok: true} through the project's middleware",
            lambda i: Request("GET", "/bench-floor/django/"),
        ),
        "api_get": (
            "crm.wsgi:application",
            "GET of the platform's ApiView with an API key (key + rate limit, scopes), "
            "answering {ok: true}",
            lambda i: Request("GET", "/bench-floor/api/", api),
        ),
        "api_post_idempotent": (
            "crm.wsgi:application",
            "POST {} to the platform's ApiView with an API key and a new Idempotency-Key "
            "(the idempotency layer's transaction), answering 201 {ok: true}",
            lambda i: Request(
                "POST", "/bench-floor/api/", {**post, "Idempotency-Key": str(uuid.uuid4())}, b"{}"
            ),
        ),
    }


def http_floor(ctx: Any) -> dict[str, Any]:
    hc = HttpConfig()
    key = _api_key()
    figures: dict[str, Any] = {
        "what": "requests that do nothing, served and driven as the HTTP figures are: "
        f"gunicorn {hc.workers} workers x {hc.threads} threads (gthread), DEBUG=False, "
        f"{hc.clients} clients; CPU per request from /proc",
        "clients": hc.clients,
    }
    rows = _rows(key)
    offset = 0
    try:
        for app in dict.fromkeys(app for app, _, _ in rows.values()):
            extra = {"BENCH_FLOOR_URLS": "1"}
            served = {name: (what, make) for name, (a, what, make) in rows.items() if a == app}
            with gunicorn(hc.workers, hc.threads, debug=False, app=app, extra_env=extra) as port:
                measured, offset = measure_rows(hc, port, served, offset, "(floor)")
            figures.update(measured)
    finally:
        _drop_api_keys()
    return figures
