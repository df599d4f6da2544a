"""Partners push orders idempotently and look customers up by identity."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm import services
from crm.models import Customer, PiiAccess, Transaction
from crm.roles import AUDITOR
from crm.services import IdentityInput, TransactionInput
from tests.conftest import key_client
from tests.factories import UserFactory

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


def merged_pair(actor, unit=None):
    """A survivor (with an order in ``unit`` when given) and the tombstone merged into it."""
    survivor = services.resolve_customer(
        identities=[IdentityInput("mobile", "13800138000")], source="t"
    ).customer
    loser = services.resolve_customer(
        identities=[IdentityInput("mobile", "13900139000"), IdentityInput("email", "w@ex.com")],
        source="t",
    ).customer
    if unit is not None:
        order = TransactionInput(
            "M-1",
            datetime(2026, 1, 1, tzinfo=UTC),
            "9.90",
            "store",
            identities=[IdentityInput("mobile", "13800138000")],
        )
        services.ingest_transaction(business_unit=unit, source="pos", row=order)
    services.merge_customers(survivor=survivor, loser=loser, actor=actor, reason="same")
    return survivor, loser


def test_a_merged_customer_id_redirects_to_the_survivor(client, admin_user) -> None:
    survivor, loser = merged_pair(admin_user)
    client.force_login(admin_user)
    response = client.get(f"/api/v1/customers/{loser.pk}/")
    assert response.status_code == 301
    assert response["Location"] == f"http://testserver/api/v1/customers/{survivor.pk}/"
    body = client.get(response["Location"]).json()
    assert body["id"] == survivor.pk
    # masked without ?reveal=, even for a user who may reveal
    assert {i["value"] for i in body["identities"]} == {"138****8000", "139****9000", "w***@ex.com"}
    assert not PiiAccess.objects.exists()


def test_revealing_in_the_api_is_explicit_and_audited(client, admin_user) -> None:
    survivor, loser = merged_pair(admin_user)
    client.force_login(admin_user)
    moved = client.get(f"/api/v1/customers/{loser.pk}/?reveal=mobile")
    assert moved["Location"] == f"http://testserver/api/v1/customers/{survivor.pk}/?reveal=mobile"
    assert not PiiAccess.objects.exists()  # a redirect reveals nothing
    body = client.get(moved["Location"], REMOTE_ADDR="10.1.2.3").json()
    assert {i["value"] for i in body["identities"]} == {
        "+8613800138000",
        "+8613900139000",
        "w***@ex.com",  # only the type asked for
    }
    access = PiiAccess.objects.get()
    assert (access.user, access.customer, access.identity_type, access.ip) == (
        admin_user,
        survivor,
        "mobile",
        "10.1.2.3",
    )
    found = client.get("/api/v1/customers/", {"mobile": "13900139000", "reveal": "email"}).json()
    assert [i["value"] for i in found[0]["identities"] if i["type"] == "email"] == ["w@ex.com"]
    assert PiiAccess.objects.filter(identity_type="email", customer=survivor).count() == 1
    wechat = client.get(f"/api/v1/customers/{survivor.pk}/", {"reveal": "wechat_unionid"})
    assert wechat.status_code == 200  # every personal type is revealed the same way, audited
    assert PiiAccess.objects.filter(identity_type="wechat_unionid").count() == 1
    bad = client.get(f"/api/v1/customers/{survivor.pk}/", {"reveal": "uscc"})
    assert bad.status_code == 400 and "reveal" in bad.json()["errors"]


def test_revealing_needs_the_permission_and_never_works_with_a_key(
    client, unit_a, issue_key
) -> None:
    auditor = UserFactory(roles=[AUDITOR], units=[unit_a])
    survivor, _loser = merged_pair(auditor, unit_a)
    client.force_login(auditor)
    assert client.get(f"/api/v1/customers/{survivor.pk}/").status_code == 200
    refused = client.get(f"/api/v1/customers/{survivor.pk}/", {"reveal": "mobile"})
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "reveal_not_allowed"
    _key, raw = issue_key(unit_a, ["customers:read"])
    partner = key_client(raw)
    assert partner.get(f"/api/v1/customers/{survivor.pk}/").status_code == 200
    refused = partner.get(f"/api/v1/customers/{survivor.pk}/", {"reveal": "mobile"})
    assert refused.status_code == 403 and refused.json()["code"] == "reveal_not_allowed"
    refused = partner.get("/api/v1/customers/", {"mobile": "13800138000", "reveal": "mobile"})
    assert refused.status_code == 403
    assert not PiiAccess.objects.exists()


def test_a_merged_id_redirects_for_a_key_that_sees_the_survivor(
    unit_a, unit_b, admin_user, issue_key
) -> None:
    survivor, loser = merged_pair(admin_user, unit_a)
    _key, raw = issue_key(unit_a, ["customers:read"])
    partner = key_client(raw)
    response = partner.get(f"/api/v1/customers/{loser.pk}/")
    assert response.status_code == 301
    assert response["Location"] == f"http://testserver/api/v1/customers/{survivor.pk}/"
    assert partner.get(response["Location"]).json()["id"] == survivor.pk
    _key, raw = issue_key(unit_b, ["customers:read"], name="other unit")
    stranger = key_client(raw)
    assert stranger.get(f"/api/v1/customers/{loser.pk}/").status_code == 404
    assert stranger.get(f"/api/v1/customers/{survivor.pk}/").status_code == 404
    assert partner.get("/api/v1/customers/nope/").status_code == 404


def test_transactions_are_listed_newest_first(unit_a, issue_key) -> None:
    moments = [
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 5, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),  # the same moment as T2: the id breaks the tie
        datetime(2026, 2, 1, tzinfo=UTC),
    ]
    services.ingest_transactions(
        business_unit=unit_a,
        source="pos",
        rows=[TransactionInput(f"T{n}", at, "1", "store") for n, at in enumerate(moments, 1)],
    )
    _key, raw = issue_key(unit_a, ["transactions:read"])
    client = key_client(raw)
    seen, url = [], "/api/v1/transactions/?page_size=2"
    while url:
        body = client.get(url).json()
        seen += [t["external_id"] for t in body["results"]]
        url = body["next"]
    assert seen == ["T3", "T1", "T5", "T4", "T2"]


def test_lookup_needs_exactly_one_valid_identity_and_the_scope(unit_a, issue_key) -> None:
    _key, raw = issue_key(unit_a, ["transactions:write"])
    assert key_client(raw).get("/api/v1/customers/", {"mobile": "13800138000"}).status_code == 403
    _key, raw = issue_key(unit_a, ["customers:read"], name="reader")
    client = key_client(raw)
    assert client.get("/api/v1/customers/").status_code == 400
    assert client.get("/api/v1/customers/", {"mobile": "abc"}).status_code == 400
    assert client.get("/api/v1/customers/", {"mobile": "13800138000"}).json() == []
