"""The OpenAPI document is the contract: every operation documents its problem+json answers,
every POST requires an ``Idempotency-Key``, and the document validates without a warning."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from crm.api.exceptions import PROBLEM_CONTENT_TYPE

pytestmark = pytest.mark.django_db

PROBLEM_FIELDS = {"type", "title", "status", "code", "detail", "errors"}


@pytest.fixture
def schema(client: Any) -> dict[str, Any]:
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method.upper(), op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def expected_problems(path: str, method: str, op: dict[str, Any]) -> set[str]:
    statuses = {"401", "403", "429"}
    if method in {"POST", "PUT", "PATCH"}:
        statuses |= {"400", "409", "413", "415"}
    if method == "POST":
        statuses.add("422")
    if "{" in path:
        statuses.add("404")
    if any(p["in"] == "query" for p in op.get("parameters", [])):
        statuses.add("400")
    if any(p["name"] == "cursor" for p in op.get("parameters", [])):
        statuses.add("404")  # an unknown cursor
    return statuses


def test_problem_component_has_the_rfc_9457_fields(schema):
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) == PROBLEM_FIELDS
    assert set(problem["required"]) == PROBLEM_FIELDS - {"errors"}
    assert problem["properties"]["status"]["type"] == "integer"


def test_every_operation_documents_its_problem_responses(schema):
    ops = operations(schema)
    assert len(ops) >= 12
    for path, method, op in ops:
        assert op.get("security"), f"{method} {path} is not authenticated"
        missing = expected_problems(path, method, op) - set(op["responses"])
        assert not missing, f"{method} {path} does not document {sorted(missing)}"
        for status, response in op["responses"].items():
            if int(status) >= 400:
                content = response["content"]
                assert list(content) == [PROBLEM_CONTENT_TYPE], f"{method} {path} {status}"
                ref = content[PROBLEM_CONTENT_TYPE]["schema"]["$ref"]
                assert ref == "#/components/schemas/Problem", f"{method} {path} {status}"
                assert content[PROBLEM_CONTENT_TYPE]["examples"], f"{method} {path} {status}"


def test_every_post_requires_an_idempotency_key(schema):
    posts = [(path, op) for path, method, op in operations(schema) if method == "POST"]
    assert posts
    for path, op in posts:
        headers = [p for p in op.get("parameters", []) if p["in"] == "header"]
        keys = [p for p in headers if p["name"] == "Idempotency-Key"]
        assert len(keys) == 1, f"POST {path} has no Idempotency-Key"
        assert keys[0]["required"] is True, f"POST {path}: Idempotency-Key is optional"
        assert keys[0]["schema"]["type"] == "string"
    others = [op for _, method, op in operations(schema) if method != "POST"]
    for op in others:
        assert all(p["name"] != "Idempotency-Key" for p in op.get("parameters", []))


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(out), stderr=StringIO()
    )
    assert out.read_text().startswith("openapi:")
