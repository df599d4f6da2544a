"""API permissions: authenticated callers; partners need the scope a view declares."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import BasePermission, DjangoModelPermissions
from rest_framework.request import Request


class InsufficientScope(exceptions.PermissionDenied):
    default_code = "insufficient_scope"


class IsAuthenticatedPrincipal(BasePermission):
    """A logged-in user, or an API key holding the scope the view requires for the method.

    Views declare ``required_scopes = {"GET": "jobs:read", "POST": "jobs:write"}``; a view
    that declares none is closed to API keys.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        api_key = getattr(user, "api_key", None)
        if api_key is None:
            return True
        scopes = getattr(view, "required_scopes", {})
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        scope = scopes.get(method)
        if scope is None or not api_key.has_scope(scope):
            raise InsufficientScope(
                _("This API key lacks the scope %(scope)s.") % {"scope": scope or method}
            )
        return True


class UserModelPermissions(DjangoModelPermissions):
    """Django model permissions for users (reading needs ``view_``); keys pass by scope."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(request.user, "api_key", None) is not None:
            return True
        return super().has_permission(request, view)
