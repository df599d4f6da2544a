"""Throttling per API key (its own rate, else the default) and per user.

DRF's own throttles read the request history, then write it back: under concurrency they
admitted about 22 % over the limit. Here each request is one atomic increment with expiry
in a fixed window (``crm.ratelimit``: Redis, or one upsert in PostgreSQL). Either way the
count lives outside the process and exactly ``limit`` requests are admitted per window,
however many arrive at once. An API key's hit is counted by the statement that reads the key
when the count is in PostgreSQL (``crm.api.authentication``): the throttle judges that count.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from rest_framework import throttling
from rest_framework.request import Request

from crm.ratelimit import count_hit


class _AtomicRateThrottle(throttling.BaseThrottle):
    scope: str
    rate: str | None = None
    _wait: float | None = None

    def get_rate(self) -> str | None:
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(self.scope)

    def ident_of(self, request: Request) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        ident = self.ident_of(request)
        if ident is None or not self.rate:
            return True
        limit, duration = throttling.SimpleRateThrottle.parse_rate(self, self.rate)  # type: ignore[arg-type]
        if limit is None or duration is None:
            return True
        counted = self.counted_hit(request)
        hits, left = counted or count_hit(f"{self.scope}:{ident}", duration)
        if hits <= limit:
            return True
        self._wait = left
        return False

    def counted_hit(self, request: Request) -> tuple[int, float] | None:
        """The hit already counted for this request, if any (taken once)."""
        return None

    def wait(self) -> float | None:
        return None if self._wait is None else max(1, math.ceil(self._wait))


class ApiKeyRateThrottle(_AtomicRateThrottle):
    scope = "api_key"

    def ident_of(self, request: Request) -> str | None:
        api_key = getattr(request.user, "api_key", None)
        if api_key is None:
            return None
        self.rate = api_key.rate or self.get_rate()
        return str(api_key.pk)

    def counted_hit(self, request: Request) -> tuple[int, float] | None:
        """Counted with the key's authentication, in the same statement (when the count lives
        in PostgreSQL: ``crm.api.authentication``), under this key and rate."""
        api_key = getattr(request.user, "api_key", None)
        return None if api_key is None else api_key.__dict__.pop("counted_hit", None)


class UserRateThrottle(_AtomicRateThrottle):
    scope = "user"

    def ident_of(self, request: Request) -> str | None:
        user = request.user
        if getattr(user, "api_key", None) is not None or not user.is_authenticated:
            return None
        self.rate = self.get_rate()
        return str(user.pk)
