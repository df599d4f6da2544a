"""API platform: problem+json errors, cursor pagination, throttling, OpenAPI schema."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.conftest import key_client
from tests.factories import BusinessUnitFactory

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "code", "detail"}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"/api/problems/{code}"
    return body


def test_validation_errors_name_each_field(api, admin_user):
    api.force_authenticate(admin_user)
    response = api.post(
        "/api/v1/business-units/", {"code": "bad code!", "industry": "mining"}, format="json"
    )
    body = assert_problem(response, 400, "validation_error")
    assert set(body["errors"]) == {"code", "name", "industry"}
    assert body["errors"]["name"][0]["code"] == "required"
    assert body["errors"]["industry"][0]["code"] == "invalid_choice"


def test_not_authenticated_unknown_route_and_method(api, admin_user):
    assert_problem(api.get("/api/v1/business-units/"), 401, "not_authenticated")
    assert_problem(api.get("/api/v1/no-such-thing/"), 404, "not_found")
    api.force_authenticate(admin_user)
    assert_problem(api.delete("/api/v1/business-units/1/"), 405, "method_not_allowed")


def test_permission_denied_for_users_without_the_model_permission(api, rep_a):
    api.force_authenticate(rep_a)
    response = api.post("/api/v1/business-units/", {"code": "NEW", "name": "新"}, format="json")
    assert_problem(response, 403, "permission_denied")


def test_cursor_pagination_walks_every_row_once(api, admin_user):
    for i in range(7):
        BusinessUnitFactory(code=f"U{i}")
    api.force_authenticate(admin_user)
    seen, url = [], "/api/v1/business-units/?page_size=3"
    while url:
        body = api.get(url).json()
        assert set(body) == {"next", "previous", "results"}
        seen += [u["code"] for u in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 8  # 7 + the admin's own unit


def test_list_query_count_does_not_grow_with_rows(api, admin_user, django_assert_num_queries):
    api.force_authenticate(admin_user)
    for i in range(30):
        BusinessUnitFactory(code=f"Q{i}")
    # the throttle's counter, the admin role check with the permissions (one query), the page
    with django_assert_num_queries(3):
        assert api.get("/api/v1/business-units/?page_size=50").status_code == 200


def test_key_throttled_at_its_own_rate(issue_key, unit_a):
    _, raw = issue_key(unit_a, ["business_units:read"], rate="3/min")
    client = key_client(raw)
    assert [client.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/api/v1/me/")
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    _, other = issue_key(unit_a, ["business_units:read"], name="Another key", rate="3/min")
    assert key_client(other).get("/api/v1/me/").status_code == 200  # per key, not global


def test_users_are_throttled_per_user(api, rep_a, settings):
    api.force_authenticate(rep_a)
    rates = {"api_key": "600/min", "user": "2/min"}
    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        assert api.get("/api/v1/me/").status_code == 200
        assert api.get("/api/v1/me/").status_code == 200
        assert_problem(api.get("/api/v1/me/"), 429, "throttled")


def test_openapi_schema_documents_every_operation_with_examples(client):
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "ApiKey" in schema["components"]["securitySchemes"]
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "patch", "put", "delete"}
    ]
    assert len(operations) >= 8
    for path, method, op in operations:
        assert op.get("summary") or op.get("description"), f"{method} {path} undocumented"
        has_example = any(
            "examples" in content or "example" in content
            for response in op["responses"].values()
            for content in response.get("content", {}).values()
        )
        assert has_example, f"{method} {path} has no response example"


def test_docs_page_uses_vendored_swagger_ui(client):
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def test_unit_codes_are_unique_whatever_their_case(api, admin_user, unit_a):
    api.force_authenticate(admin_user)
    response = api.post("/api/v1/business-units/", {"code": "auto", "name": "重复"}, format="json")
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"]["code"][0]["code"] == "unique"
    created = api.post("/api/v1/business-units/", {"code": "logi", "name": "物流"}, format="json")
    assert created.status_code == 201 and created.json()["code"] == "LOGI"


def test_business_units_page_in_code_order(api, admin_user):
    for code in ("MMM", "AAA", "ZZZ"):
        BusinessUnitFactory(code=code)
    api.force_authenticate(admin_user)
    codes = [u["code"] for u in api.get("/api/v1/business-units/").json()["results"]]
    assert codes == ["AAA", "AUTO", "MMM", "ZZZ"]


def test_schema_documents_idempotency_and_problem_responses(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    cancel = schema["paths"]["/api/v1/jobs/{id}/cancel/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in cancel["parameters"])
    for status in ("401", "403", "404", "409", "422", "429"):
        assert "application/problem+json" in cancel["responses"][status]["content"]
    assert "Problem" in schema["components"]["schemas"]


def test_an_api_key_needs_at_least_one_scope(unit_a):
    from crm import services

    with pytest.raises(services.UnknownScope):
        services.issue_api_key(name="x", business_unit=unit_a, scopes=[])
