"""OpenAPI generation: every operation documents its problem+json errors, every POST its
``Idempotency-Key`` header."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from crm.api.exceptions import PROBLEM_CONTENT_TYPE


class FieldErrorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer[Any]):
    """RFC 9457 problem details with a stable ``code``."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=FieldErrorSerializer(many=True), required=False, help_text="Per-field errors."
    )

    class Meta:
        ref_name = "Problem"


ERRORS: dict[str, tuple[str, str, str]] = {
    "400": ("validation_error", "The request has invalid fields.", "Bad Request"),
    "401": ("not_authenticated", "Authentication credentials were not provided.", "Unauthorized"),
    "403": ("insufficient_scope", "This API key lacks the scope jobs:read.", "Forbidden"),
    "404": ("not_found", "Not found.", "Not Found"),
    "409": (
        "idempotency_key_in_progress",
        "A request with this Idempotency-Key is still being processed; retry later.",
        "Conflict",
    ),
    "413": (
        "body_too_large",
        "The body is larger than 1048576 bytes.",
        "Content Too Large",
    ),
    "415": (
        "unsupported_media_type",
        'Unsupported media type "text/plain" in request.',
        "Unsupported Media Type",
    ),
    "422": (
        "idempotency_key_reused",
        "This Idempotency-Key was used with a different request body.",
        "Unprocessable Content",
    ),
    "429": (
        "throttled",
        "Request was throttled. Expected available in 12 seconds.",
        "Too Many Requests",
    ),
}

IDEMPOTENCY_KEY_DESCRIPTION = (
    "A fresh key (e.g. a UUID) per logical request, 1 to 255 characters. Same key and body "
    "within 24 h: the stored response is replayed (`Idempotent-Replayed: true`); another body: "
    "422; while the first is still running: 409. The web UI's own session calls may omit it; "
    "every other client must send it (400 `idempotency_key_missing`)."
)


def _example(status: str) -> dict[str, Any]:
    code, detail, title = ERRORS[status]
    body: dict[str, Any] = {
        "type": f"/api/problems/{code}",
        "title": title,
        "status": int(status),
        "code": code,
        "detail": detail,
    }
    if status == "400":
        body["errors"] = {"name": [{"code": "required", "message": "This field is required."}]}
    return body


class ProblemAutoSchema(AutoSchema):
    """The contract every operation keeps, added centrally so no view can forget it:

    - 401 and 403 on every authenticated operation, 429 on every operation;
    - 400 wherever the caller sends input (query parameters, a body, a POST's header);
    - 404 on routes with a path parameter and on paginated lists (an unknown cursor);
    - 409, 413 and 415 on writes; 422 on POSTs (an ``Idempotency-Key`` reused);
    - the ``Idempotency-Key`` header, required, on every POST.
    """

    WRITE_METHODS = ("POST", "PUT", "PATCH")

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        if self.method == "POST":
            params.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    str,
                    OpenApiParameter.HEADER,
                    required=True,
                    description=IDEMPOTENCY_KEY_DESCRIPTION,
                )
            )
        return params

    def problem_statuses(self, operation: dict[str, Any]) -> list[str]:
        statuses = ["429"]
        if operation.get("security") and {} not in operation["security"]:
            statuses += ["401", "403"]
        takes_input = self.method in self.WRITE_METHODS or any(
            p["in"] in ("query", "header") for p in operation.get("parameters", [])
        )
        if takes_input:
            statuses.append("400")
        if "{" in self.path or (self._is_list_view() and self._get_paginator() is not None):
            statuses.append("404")
        if self.method in self.WRITE_METHODS:
            statuses += ["409", "413", "415"]
        if self.method == "POST":
            statuses.append("422")
        return sorted(statuses)

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        ref = self.resolve_serializer(ProblemSerializer, "response").ref
        responses = operation["responses"]
        for status in self.problem_statuses(operation):
            responses.setdefault(
                status,
                {
                    "description": ERRORS[status][2],
                    "content": {
                        PROBLEM_CONTENT_TYPE: {
                            "schema": ref,
                            "examples": {ERRORS[status][0]: {"value": _example(status)}},
                        }
                    },
                },
            )
        operation["responses"] = dict(sorted(responses.items()))
        return operation
