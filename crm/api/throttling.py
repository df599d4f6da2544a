"""Throttling per API key (its own rate, else the default) and per user.

DRF throttles count in the shared cache (database or Redis), so the limit holds across web
processes; they are not atomic, so they are a limit, not a security control.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import throttling
from rest_framework.request import Request


class _SettingsRate:
    scope: str

    def get_rate(self) -> str | None:
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(self.scope)


class ApiKeyRateThrottle(_SettingsRate, throttling.SimpleRateThrottle):
    scope = "api_key"

    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = getattr(request.user, "api_key", None)
        if api_key is None:
            return True
        self.rate = api_key.rate or self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": request.user.api_key.pk}


class UserRateThrottle(_SettingsRate, throttling.UserRateThrottle):
    scope = "user"

    def allow_request(self, request: Request, view: Any) -> bool:
        if getattr(request.user, "api_key", None) is not None:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
