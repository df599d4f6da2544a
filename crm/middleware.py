"""Per-user interface language, and the security headers every dynamic response carries."""

from __future__ import annotations

from collections.abc import Callable

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        # An empty preference follows the cookie / browser (what the user picked before signing in).
        language = getattr(user, "language", None) if user and user.is_authenticated else None
        if language and language != getattr(request, "LANGUAGE_CODE", None):
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        if language:
            response.headers.setdefault("Content-Language", language)
        return response


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for lockout: behind ``TRUSTED_PROXY_COUNT`` proxies, the address
    the outermost trusted proxy saw (X-Forwarded-For entries added by clients are ignored)."""
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [p for p in forwarded if p]
    if count and len(forwarded) >= count:
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


class SecurityHeadersMiddleware(CSPMiddleware):
    """Content-Security-Policy (django-csp, from ``CONTENT_SECURITY_POLICY``, with a per-request
    nonce as ``request.csp_nonce``), ``Permissions-Policy`` and ``Cache-Control: no-store``.

    It sits after WhiteNoise, so static files never reach it and keep their long-lived caching.
    Every response that does reach it is dynamic: API answers, pages showing personal data and
    the sign-in form alike, so none may be stored by a browser or a shared cache (a page kept in
    the back/forward history or on a proxy would show a customer to the next person at the
    screen). ``Referrer-Policy`` comes from Django's ``SecurityMiddleware``
    (``SECURE_REFERRER_POLICY``), ``X-Frame-Options`` from ``XFrameOptionsMiddleware``.
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        response = super().process_response(request, response)
        policy = ", ".join(
            f"{feature}={allow}" for feature, allow in settings.PERMISSIONS_POLICY.items()
        )
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        if not request.path_info.startswith(_cacheable_prefixes()):
            response.headers["Cache-Control"] = "no-store"
        return response


def _cacheable_prefixes() -> tuple[str, ...]:
    """Paths whose responses may be cached: static and media files (when served by Django)."""
    return tuple(p for p in (settings.STATIC_URL, settings.MEDIA_URL) if p and p != "/")
