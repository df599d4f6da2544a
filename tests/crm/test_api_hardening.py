"""The API never answers 5xx to what a client sends: each case is a 4xx problem+json naming
the field, and nothing is stored."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from crm.models import BusinessUnit, IdempotencyKey, Transaction
from tests.conftest import key_client
from tests.crm.test_api_platform import assert_problem

pytestmark = pytest.mark.django_db

ORDER = {
    "source": "pos",
    "external_id": "H-1",
    "occurred_at": "2026-11-24T10:15:00+08:00",
    "amount": "268.50",
    "channel": "store",
    "customer": {"identities": [{"type": "mobile", "value": "13800138000"}]},
}


@pytest.fixture
def pos(unit_a, issue_key):
    _key, raw = issue_key(unit_a, ["transactions:write", "transactions:read", "customers:read"])
    return key_client(raw)


def post(client, body, key="k", **extra):
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(
        "/api/v1/transactions/",
        payload,
        content_type=extra.pop("content_type", "application/json"),
        HTTP_IDEMPOTENCY_KEY=key,
        **extra,
    )


def test_a_session_post_with_json_and_an_idempotency_key_is_fingerprinted(client, admin_user):
    client.force_login(admin_user)
    body = {"code": "NEWU", "name": "新单位"}
    first = client.post(
        "/api/v1/business-units/",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="web-1",
    )
    assert first.status_code == 201
    again = client.post(
        "/api/v1/business-units/",
        {"name": "新单位", "code": "NEWU"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="web-1",
    )
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    other = client.post(
        "/api/v1/business-units/",
        {"code": "NEWV", "name": "x"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="web-1",
    )
    assert_problem(other, 422, "idempotency_key_reused")
    assert BusinessUnit.objects.filter(code__in=["NEWU", "NEWV"]).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ORDER, "external_id": "H\x00-1"}, "external_id"),
        ({**ORDER, "external_id": "H\ud800"}, "external_id"),
        ({**ORDER, "lines": [{"sku": "A1", "name": "茶\x00"}]}, "lines[0].name"),
        ({**ORDER, "lines": [{"s\x00ku": 1}]}, "lines[0].s\ufffdku"),
        ({**ORDER, "lines": [{"s\ud800ku": 1}]}, "lines[0].s\ufffdku"),
        (
            {**ORDER, "customer": {"identities": [{"type": "mobile", "value": "138\x00"}]}},
            "customer.identities[0].value",
        ),
    ],
)
def test_nul_and_lone_surrogates_are_refused_naming_the_field(pos, body, field):
    raw = json.dumps(body)  # \u0000 and \ud800 escapes, as a client would send them
    response = post(pos, raw)
    problem = assert_problem(response, 400, "invalid_json")
    assert list(problem["errors"]) == [field]
    assert not Transaction.objects.exists()


def test_nul_in_a_query_parameter_is_refused(pos):
    response = pos.get("/api/v1/transactions/?source=p%00s")
    problem = assert_problem(response, 400, "invalid_json")
    assert list(problem["errors"]) == ["source"]


def test_deeply_nested_json_is_refused_early(pos):
    deep = "[" * 10_000 + "]" * 10_000
    response = post(pos, f'{{"source": "pos", "lines": {deep}}}')
    assert_problem(response, 400, "invalid_json")
    nested = {**ORDER, "lines": [{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}}]}
    with override_settings(API_MAX_JSON_DEPTH=6):
        problem = assert_problem(post(pos, nested, key="k2"), 400, "invalid_json")
    assert next(iter(problem["errors"])).startswith("lines[0].a.b.c")
    assert not Transaction.objects.exists() and not IdempotencyKey.objects.exists()


def test_body_size_element_count_and_string_length_are_limited(pos):
    with override_settings(API_MAX_BODY_BYTES=2000):
        big = {**ORDER, "lines": [{"sku": "x" * 100}] * 30}
        assert_problem(post(pos, big), 413, "body_too_large")
    with override_settings(API_MAX_JSON_ELEMENTS=50):
        many = {**ORDER, "lines": [{"n": i} for i in range(60)]}
        assert_problem(post(pos, many, key="k2"), 400, "invalid_json")
    long = {**ORDER, "lines": [{"name": "字" * 2001}]}
    problem = assert_problem(post(pos, long, key="k3"), 400, "invalid_json")
    assert list(problem["errors"]) == ["lines[0].name"]
    assert not Transaction.objects.exists()


def test_lines_per_order_are_limited(pos):
    with override_settings(ORDER_MAX_LINES=3):
        response = post(pos, {**ORDER, "lines": [{"sku": str(i)} for i in range(4)]})
    problem = assert_problem(response, 400, "validation_error")
    assert list(problem["errors"]) == ["lines"]
    assert not Transaction.objects.exists()


def test_only_json_is_accepted(pos):
    form = pos.post(
        "/api/v1/transactions/",
        {"source": "pos", "external_id": "F-1", "amount": "1", "channel": "store"},
        HTTP_IDEMPOTENCY_KEY="f",
    )  # multipart, as a browser form would send it
    assert_problem(form, 415, "unsupported_media_type")
    urlencoded = post(
        pos, "source=pos&external_id=F-2", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(urlencoded, 415, "unsupported_media_type")
    assert not Transaction.objects.exists()


def test_a_post_to_a_read_only_route_is_405(pos, admin_user, api):
    response = pos.post("/api/v1/customers/", {}, format="json", HTTP_IDEMPOTENCY_KEY="ro")
    assert_problem(response, 405, "method_not_allowed")
    api.force_authenticate(admin_user)
    assert_problem(api.post("/api/v1/me/", {}, format="json"), 405, "method_not_allowed")
    assert_problem(api.post("/api/v1/customers/1/", {}, format="json"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "0.00"}, "amount"),
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "10.005"}, "amount"),
        ({"amount": "100.50", "currency": "JPY"}, "amount"),
        ({"kind": "cancellation", "amount": "0"}, "amount"),
        ({"occurred_at": "0001-01-01T00:00:00Z"}, "occurred_at"),
        ({"occurred_at": "1989-12-31T00:00:00Z"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T00:00:00+08:00"}, "occurred_at"),
    ],
)
def test_amounts_and_times_out_of_their_domain_are_refused(pos, change, field):
    problem = assert_problem(post(pos, {**ORDER, **change}), 400, "validation_error")
    assert list(problem["errors"]) == [field]
    assert not Transaction.objects.exists()


def test_times_are_emitted_in_rfc3339_with_an_offset(pos):
    import re

    stored = post(pos, {**ORDER, "occurred_at": "1990-01-02T00:00:00"})
    assert stored.status_code == 201
    listed = pos.get("/api/v1/transactions/").json()["results"][0]
    for value in (stored.json()["occurred_at"], listed["occurred_at"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d", value), value
    assert post(pos, {**ORDER, "external_id": "Y", "amount": "100", "currency": "JPY"}, key="j")
