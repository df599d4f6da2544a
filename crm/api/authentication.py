"""Partner authentication: ``Authorization: Api-Key <key>`` (or ``X-Api-Key: <key>``)."""

from __future__ import annotations

import hmac
import re
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from crm.models import ApiKey


class Partner:
    """The principal of a request made with an API key: one business unit, some scopes."""

    is_authenticated = True
    is_anonymous = False
    is_superuser = False
    is_staff = False
    pk = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key

    def __str__(self) -> str:
        return f"api_key:{self.api_key.pk}"

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False


class ApiKeyError(exceptions.AuthenticationFailed):
    def __init__(self, detail: Any, code: str) -> None:
        super().__init__(detail=detail, code=code)


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Api-Key"
    # ``crm_<prefix>_<secret>``: a hex prefix, a URL-safe secret. Checked before the database
    # sees the prefix, so no header (a NUL byte, a stray character) can reach a query.
    key_pattern = re.compile(r"crm_(?P<prefix>[0-9A-Za-z]{1,16})_[0-9A-Za-z_-]*")

    def _raw_key(self, request: Request) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith(self.keyword + " "):
            return header[len(self.keyword) + 1 :].strip()
        return request.META.get("HTTP_X_API_KEY") or None

    def authenticate(self, request: Request) -> tuple[Partner, ApiKey] | None:
        raw = self._raw_key(request)
        if raw is None:
            return None
        match = self.key_pattern.fullmatch(raw)
        if match is None:
            raise ApiKeyError(_("Malformed API key."), "api_key_invalid")
        api_key = (
            ApiKey.objects.select_related("business_unit").filter(prefix=match["prefix"]).first()
        )
        if api_key is None or not hmac.compare_digest(api_key.hashed_key, ApiKey.hash(raw)):
            raise ApiKeyError(_("Unknown API key."), "api_key_invalid")
        if api_key.is_revoked:
            raise ApiKeyError(_("This API key has been revoked."), "api_key_revoked")
        now = timezone.now()
        if api_key.is_expired(now):
            raise ApiKeyError(_("This API key has expired."), "api_key_expired")
        if not api_key.business_unit.is_active:
            raise ApiKeyError(_("This API key's business unit is inactive."), "api_key_inactive")
        if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return Partner(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "crm.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key crm_<prefix>_<secret>`, issued in the admin, shown once.",
        }
