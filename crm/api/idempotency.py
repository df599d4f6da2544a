"""``Idempotency-Key`` for every POST.

One transaction per keyed POST: a transaction-scoped advisory lock on (caller, key) admits one
request at a time, so a concurrent duplicate is answered 409 at once instead of waiting. The
stored response is written in the same transaction as the work, so a response is stored if and
only if the work committed; a request that failed (an exception, or a 5xx) leaves no key and
may be retried. Same key + same body replays the stored response (``Idempotent-Replayed:
true``); same key + another body is 422 ``idempotency_key_reused``. Keys live 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.exceptions import problem_response
from crm.prepared import fetch_prepared

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("Location",)


def owner_of(request: Request) -> str:
    api_key = getattr(request.user, "api_key", None)
    if api_key is not None:
        return f"api_key:{api_key.pk}"
    return f"user:{request.user.pk}"


def _body_parts(request: Request) -> list[bytes]:
    """The body as bytes to hash: a multipart upload by its fields and its files' contents,
    read in chunks, never whole; anything else by its parsed value."""
    content_type = request.content_type or ""
    if content_type.startswith("multipart/"):
        fields = json.dumps(
            {k: request.data.getlist(k) for k in request.data if k not in request.FILES},
            sort_keys=True,
        )
        parts = [fields.encode()]
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                file_digest = hashlib.sha256()
                for chunk in upload.chunks():
                    file_digest.update(chunk)
                upload.seek(0)
                parts.append(f"{name}:{upload.name}:{file_digest.hexdigest()}".encode())
        return parts
    # JSON by value (key order and spacing do not matter), from what the parser read: the
    # raw stream is gone once DRF has parsed it.
    return [json.dumps(request.data, sort_keys=True, separators=(",", ":")).encode()]


def fingerprint(request: Request) -> str:
    """Hash of method, path, query string and body."""
    query = request._request.META.get("QUERY_STRING", "")
    digest = hashlib.sha256()
    for part in (
        request.method.encode(),
        request.path.encode(),
        query.encode(),
        *_body_parts(request),
    ):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _lock_id(owner: str, key: str) -> int:
    return int.from_bytes(
        hashlib.sha256(f"{owner}\0{key}".encode()).digest()[:8], "big", signed=True
    )


def key_required(request: Request) -> bool:
    """Partners must send a key; the web UI's session calls may."""
    return getattr(request.user, "api_key", None) is not None


def run_idempotent(request: Request, handler: Callable[[], Response]) -> Response:
    key = request.headers.get(HEADER)
    if key is None:
        if key_required(request):
            return problem_response(
                400,
                "idempotency_key_missing",
                _("POST requests made with an API key need an Idempotency-Key header."),
            )
        return handler()
    if not key or len(key) > MAX_KEY_LENGTH:
        return problem_response(
            400,
            "idempotency_key_invalid",
            _("The Idempotency-Key header must be 1 to %(n)d characters.") % {"n": MAX_KEY_LENGTH},
        )
    owner = owner_of(request)
    print_ = fingerprint(request)
    cutoff = timezone.now() - settings.IDEMPOTENCY_KEY_TTL
    with transaction.atomic():
        # The lock and the stored answer in one prepared statement (every partner write
        # runs it); a key older than the TTL reads as absent and is replaced below.
        locked, status, body, headers, stored_print = fetch_prepared(
            _LOCK_AND_READ,
            {"lock": _lock_id(owner, key), "owner": owner, "key": key, "cutoff": cutoff},
        )
        if not locked:
            return problem_response(
                409,
                "idempotency_key_in_progress",
                _("A request with this Idempotency-Key is still being processed; retry later."),
            )
        if status is not None:
            if stored_print != print_:
                return problem_response(
                    422,
                    "idempotency_key_reused",
                    _("This Idempotency-Key was used with a different request body."),
                )
            # jsonb reads as text on Django's connections (its JSONField decodes it).
            headers = {**json.loads(headers), REPLAYED_HEADER: "true"}
            return Response(json.loads(body) if body is not None else None, status, headers=headers)
        response = handler()
        if response.status_code >= 500:
            transaction.set_rollback(True)
            return response
        fetch_prepared(
            _STORE,
            {
                "owner": owner,
                "key": key,
                "fingerprint": print_,
                "method": request.method,
                "path": request.path[:500],
                "status": response.status_code,
                # The body as the client will read it, stored as JSON text once rendered.
                "body": JSONRenderer().render(response.data).decode() or None,
                "headers": json.dumps(
                    {h: response[h] for h in KEPT_HEADERS if response.has_header(h)}
                ),
                "cutoff": cutoff,
            },
        )
        return response


# Whether this transaction holds the (caller, key) lock, and the key's unexpired answer.
_LOCK_AND_READ = """
SELECT l.locked, i.status_code, i.response_body, i.response_headers, i.fingerprint
FROM (SELECT pg_try_advisory_xact_lock(%(lock)s::bigint) AS locked) l
LEFT JOIN crm_idempotencykey i
  ON l.locked AND i.owner = %(owner)s AND i.key = %(key)s AND i.created_at >= %(cutoff)s
"""
# Under the lock, no other request writes this (caller, key): an expired row is replaced.
_STORE = """
INSERT INTO crm_idempotencykey
    (owner, key, fingerprint, method, path, status_code, response_body, response_headers,
     created_at)
VALUES (%(owner)s, %(key)s, %(fingerprint)s, %(method)s, %(path)s, %(status)s::smallint,
        %(body)s::jsonb, %(headers)s::jsonb, now())
ON CONFLICT (owner, key) DO UPDATE SET
    fingerprint = EXCLUDED.fingerprint, method = EXCLUDED.method, path = EXCLUDED.path,
    status_code = EXCLUDED.status_code, response_body = EXCLUDED.response_body,
    response_headers = EXCLUDED.response_headers, created_at = EXCLUDED.created_at
WHERE crm_idempotencykey.created_at < %(cutoff)s
RETURNING id
"""
