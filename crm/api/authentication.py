"""Partner authentication: ``Authorization: Api-Key <key>`` (or ``X-Api-Key: <key>``).

The key is read with its business unit, and, when the throttle counts in PostgreSQL (no
Redis), the request is counted in the same statement (``crm.ratelimit.key_and_hit_sql``): one
round trip instead of two on every partner call. The count is taken only for a key that
authenticates (the whole key's hash matches, not revoked, not expired, its unit active), so a
wrong secret never spends a key's rate; ``ApiKeyRateThrottle`` then judges that count instead
of counting again. A request refused for a missing scope therefore counts too (it is a call
the key made); a throttle that counts elsewhere (Redis) counts after the permissions as before.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from crm.models import ApiKey, BusinessUnit
from crm.prepared import fetch_prepared
from crm.ratelimit import counts_in_database, key_and_hit_sql


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
        api_key = self._read_key(match["prefix"], raw)
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

    def _read_key(self, prefix: str, raw: str) -> ApiKey | None:
        """The key with its unit; counted by the throttle in the same statement when the
        throttle counts in PostgreSQL (``api_key.counted_hit``: hits, seconds left)."""
        if not counts_in_database():
            return ApiKey.objects.select_related("business_unit").filter(prefix=prefix).first()
        default = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get("api_key") or ""
        # Prepared once per connection: every partner request runs it first.
        row = fetch_prepared(
            key_and_hit_sql(), {"prefix": prefix, "hash": ApiKey.hash(raw), "default_rate": default}
        )
        if row is None:
            return None
        keys, units = _columns(ApiKey), _columns(BusinessUnit)
        api_key = ApiKey.from_db(connection.alias, keys, row[: len(keys)])
        unit_row = row[len(keys) : len(keys) + len(units)]
        api_key.business_unit = BusinessUnit.from_db(connection.alias, units, unit_row)
        hits, expires_at = row[-2:]
        if hits is not None:
            left = max(0.0, (expires_at - timezone.now()).total_seconds())
            api_key.counted_hit = (hits, left)  # type: ignore[attr-defined]
        return api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def _columns(model: Any) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


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
