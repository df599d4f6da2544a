"""Base classes for every API view: problem+json errors, scopes, idempotent POSTs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from rest_framework import exceptions, generics, viewsets
from rest_framework.views import APIView

from crm.api.idempotency import run_idempotent
from crm.api.parsers import check_query_params


class IdempotentPostMixin:
    """Runs every POST handler through :func:`run_idempotent` (after auth and throttling)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        view: APIView = self  # type: ignore[assignment]
        view.args = args
        view.kwargs = kwargs
        request = view.initialize_request(request, *args, **kwargs)
        view.request = request
        view.headers = view.default_response_headers
        try:
            method = request.method.lower()
            if method in view.http_method_names:
                handler = getattr(view, method, view.http_method_not_allowed)
            else:
                handler = view.http_method_not_allowed
            if handler == view.http_method_not_allowed:
                # 405 before authentication, scopes and idempotency: the route never takes it.
                raise exceptions.MethodNotAllowed(request.method)
            check_query_params(request.query_params)
            view.initial(request, *args, **kwargs)
            if request.method == "POST":
                response = run_idempotent(request, lambda: handler(request, *args, **kwargs))
            else:
                response = handler(request, *args, **kwargs)
        except Exception as exc:
            response = view.handle_exception(exc)
        view.response = view.finalize_response(request, response, *args, **kwargs)
        return view.response

    @classmethod
    def as_view(cls, *args: Any, **kwargs: Any) -> Any:
        view = super().as_view(*args, **kwargs)  # type: ignore[misc]
        view.login_required = False  # the API authenticates itself (session or API key)
        return view


class ApiView(IdempotentPostMixin, APIView):
    required_scopes: dict[str, str] = {}


class ApiGenericView(IdempotentPostMixin, generics.GenericAPIView):  # type: ignore[type-arg]
    required_scopes: dict[str, str] = {}


class ApiViewSet(IdempotentPostMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    required_scopes: dict[str, str] = {}
