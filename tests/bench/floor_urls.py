"""The project's URLs plus the HTTP floor's two empty routes (``tests/bench/http_floor.py``).
Served only by the floor's own gunicorn (``ROOT_URLCONF`` set through
``BENCH_FLOOR_URLS``): no other bench server and no product code sees these routes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.base import ApiView
from crm.urls import handler404, handler500
from crm.urls import urlpatterns as project_urlpatterns

__all__ = ["handler404", "handler500", "urlpatterns"]


@login_not_required
def empty_view(request: HttpRequest) -> JsonResponse:
    """Django and the project's whole middleware stack, nothing else."""
    return JsonResponse({"ok": True})


class EmptyApiView(ApiView):
    """The platform's API stack with nothing of an app's: API key authentication, the rate
    limit, scopes, problem+json, and for a POST the idempotency layer (the key's row read
    and written in the request's transaction), as every partner write goes through it."""

    required_scopes = {"GET": "business_units:read", "POST": "business_units:read"}

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response({"ok": True})

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response({"ok": True}, status=201)


urlpatterns = [
    path("bench-floor/django/", empty_view),
    path("bench-floor/api/", EmptyApiView.as_view()),
    *project_urlpatterns,
]
