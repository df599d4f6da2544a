"""Partners push orders idempotently and look customers up by identity."""

from __future__ import annotations

import pytest

from crm import services
from crm.models import Customer, Transaction
from crm.services import IdentityInput
from tests.conftest import key_client

pytestmark = pytest.mark.django_db

ORDER = {
    "source": "pos",
    "external_id": "SH-0001",
    "occurred_at": "2026-11-24T10:15:00+08:00",
    "amount": "268.50",
    "channel": "store",
    "customer": {"identities": [{"type": "mobile", "value": "138 0013 8000"}]},
}


def test_pushing_the_same_order_twice_changes_nothing(unit_a, issue_key) -> None:
    _key, raw = issue_key(unit_a, ["transactions:write", "customers:read"])
    client = key_client(raw)
    first = client.post("/api/v1/transactions/", ORDER, format="json", HTTP_IDEMPOTENCY_KEY="a1")
    assert first.status_code == 201, first.content
    assert first.json()["business_unit"] == unit_a.code
    # A retry with a new idempotency key still finds the order by (source, external_id).
    again = client.post("/api/v1/transactions/", ORDER, format="json", HTTP_IDEMPOTENCY_KEY="a2")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Transaction.objects.count() == 1 and Customer.objects.count() == 1
    found = client.get("/api/v1/customers/", {"mobile": "+86 13800138000"})
    assert found.status_code == 200
    [customer] = found.json()
    assert customer["id"] == first.json()["customer"]
    assert customer["identities"][0]["value"] == "138****8000"  # partners never see it whole


def test_bad_orders_are_refused_with_the_field(unit_a, issue_key) -> None:
    _key, raw = issue_key(unit_a, ["transactions:write"])
    client = key_client(raw)
    bad_phone = {**ORDER, "customer": {"identities": [{"type": "mobile", "value": "12"}]}}
    response = client.post(
        "/api/v1/transactions/", bad_phone, format="json", HTTP_IDEMPOTENCY_KEY="b1"
    )
    assert response.status_code == 400
    assert "mobile" in response.json()["errors"]
    negative = {**ORDER, "amount": "-5"}
    response = client.post(
        "/api/v1/transactions/", negative, format="json", HTTP_IDEMPOTENCY_KEY="b2"
    )
    assert response.status_code == 400 and "amount" in response.json()["errors"]
    other_unit = {**ORDER, "business_unit": "PROP"}
    response = client.post(
        "/api/v1/transactions/", other_unit, format="json", HTTP_IDEMPOTENCY_KEY="b3"
    )
    assert response.status_code == 400 and "business_unit" in response.json()["errors"]
    assert not Transaction.objects.exists()


def test_a_merged_customer_id_redirects_to_the_survivor(client, admin_user) -> None:
    survivor = services.resolve_customer(
        identities=[IdentityInput("mobile", "13800138000")], source="t"
    ).customer
    loser = services.resolve_customer(
        identities=[IdentityInput("mobile", "13900139000")], source="t"
    ).customer
    services.merge_customers(survivor=survivor, loser=loser, actor=admin_user, reason="same")
    client.force_login(admin_user)
    response = client.get(f"/api/v1/customers/{loser.pk}/")
    assert response.status_code == 301
    assert response["Location"] == f"/api/v1/customers/{survivor.pk}/"
    body = client.get(response["Location"]).json()
    assert body["id"] == survivor.pk
    assert {i["value"] for i in body["identities"]} == {"+8613800138000", "+8613900139000"}


def test_lookup_needs_exactly_one_valid_identity_and_the_scope(unit_a, issue_key) -> None:
    _key, raw = issue_key(unit_a, ["transactions:write"])
    assert key_client(raw).get("/api/v1/customers/", {"mobile": "13800138000"}).status_code == 403
    _key, raw = issue_key(unit_a, ["customers:read"], name="reader")
    client = key_client(raw)
    assert client.get("/api/v1/customers/").status_code == 400
    assert client.get("/api/v1/customers/", {"mobile": "abc"}).status_code == 400
    assert client.get("/api/v1/customers/", {"mobile": "13800138000"}).json() == []
