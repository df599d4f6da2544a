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
    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        if self.method == "POST":
            params.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    str,
                    OpenApiParameter.HEADER,
                    required=False,
                    description=(
                        "Required with an API key. Same key and body within 24 h: the stored "
                        "response is replayed (`Idempotent-Replayed: true`); another body: 422; "
                        "while the first is still running: 409."
                    ),
                )
            )
        return params

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)  # type: ignore[arg-type]
        statuses = ["401", "403", "429"]
        if self.method in ("POST", "PUT", "PATCH"):
            statuses.append("400")
        if "{" in self.path:
            statuses.append("404")
        if self.method == "POST":
            statuses += ["409", "422"]
        ref = self.resolve_serializer(ProblemSerializer, "response").ref
        for status in sorted(statuses):
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
        return responses
