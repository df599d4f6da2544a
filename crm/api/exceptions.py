"""Every API error as ``application/problem+json`` (RFC 9457) with a stable ``code``.

Shape: ``{"type", "title", "status", "code", "detail", "errors"}`` where ``errors`` maps a
field name to a list of ``{"code", "message"}`` (``non_field_errors`` for the whole body).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response

from crm.errors import DomainError, unique_violation

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem(
    *,
    status_code: int,
    code: str,
    detail: str,
    errors: dict[str, list[dict[str, str]]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"/api/problems/{code}",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "code": code,
        "detail": str(detail),
    }
    if errors:
        body["errors"] = errors
    return body


def problem_response(
    status_code: int, code: str, detail: str, errors: Any = None, headers: Any = None
) -> Response:
    return Response(
        problem(status_code=status_code, code=code, detail=detail, errors=errors),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def _field_errors(detail: Any, codes: Any, prefix: str = "") -> dict[str, list[dict[str, str]]]:
    """Flatten DRF's nested error detail into ``{"field.sub": [{"code", "message"}]}``."""
    out: dict[str, list[dict[str, str]]] = {}
    if isinstance(detail, dict):
        for name, value in detail.items():
            key = f"{prefix}.{name}" if prefix else str(name)
            out.update(
                _field_errors(value, codes.get(name) if isinstance(codes, dict) else codes, key)
            )
    elif isinstance(detail, list):
        if detail and all(isinstance(item, (dict, list)) for item in detail):
            for index, item in enumerate(detail):
                sub = codes[index] if isinstance(codes, list) else codes
                out.update(_field_errors(item, sub, f"{prefix}[{index}]"))
        else:
            code_list = codes if isinstance(codes, list) else [codes] * len(detail)
            out[prefix or "non_field_errors"] = [
                {"code": str(c), "message": str(m)} for m, c in zip(detail, code_list, strict=False)
            ]
    else:
        out[prefix or "non_field_errors"] = [{"code": str(codes), "message": str(detail)}]
    return out


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        errors = {exc.field: [{"code": exc.code, "message": exc.message}]} if exc.field else None
        return problem_response(exc.status, exc.code, exc.message, errors)
    if (taken := unique_violation(exc)) is not None:
        # A concurrent writer got there between the serializer's check and the insert: the
        # same answer the check gives.
        field = taken[1]
        message = _("This value is already taken.")
        return problem_response(
            status.HTTP_400_BAD_REQUEST,
            "validation_error",
            _("The request has invalid fields."),
            {field: [{"code": "unique", "message": message}]},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: let Django log it and answer 500
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
    if isinstance(exc, exceptions.ValidationError):
        return problem_response(
            status.HTTP_400_BAD_REQUEST,
            "validation_error",
            _("The request has invalid fields."),
            _field_errors(exc.detail, exc.get_codes()),
        )
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.default_detail)
    return problem_response(exc.status_code, str(code), str(detail), headers=headers or None)


def api_not_found(request: HttpRequest) -> JsonResponse:
    """404 for URLs under ``/api/`` that match no route."""
    body = problem(status_code=404, code="not_found", detail=_("No such API endpoint."))
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)


def api_server_error(request: HttpRequest) -> JsonResponse:
    body = problem(status_code=500, code="server_error", detail=_("Internal server error."))
    return JsonResponse(body, status=500, content_type=PROBLEM_CONTENT_TYPE)
