"""The accounts API for web-UI users: scoped (404 outside one's units), mass assignment
refused by field, writes through the services, idempotent POSTs, pinned query counts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import Account, Contact, Opportunity
from crm.models import BusinessUnit, User
from tests.accounts.conftest import make_uscc
from tests.conftest import key_client

pytestmark = pytest.mark.django_db
BASE = "/api/v1/accounts"


@pytest.fixture
def client_a(rep_a: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(rep_a)
    client.default_format = "json"
    return client


def test_rep_of_unit_a_gets_404_for_an_account_of_unit_b(
    make_account: Callable[..., Account], client_a: APIClient, rep_b: User, unit_b: BusinessUnit
):
    theirs = make_account("乙方公司", unit=unit_b, user=rep_b)
    mine = make_account("甲方公司")
    assert client_a.get(f"{BASE}/accounts/{theirs.pk}/").status_code == 404
    assert client_a.patch(f"{BASE}/accounts/{theirs.pk}/", {"city": "x"}).status_code == 404
    listed = client_a.get(f"{BASE}/accounts/").json()["results"]
    assert [a["id"] for a in listed] == [mine.pk]
    refused = client_a.post(
        f"{BASE}/contacts/", {"account": theirs.pk, "name": "甲", "mobile": "13800138000"}
    )
    assert refused.status_code == 400 and "account" in refused.json()["errors"]
    assert not Contact.objects.exists()


@pytest.mark.parametrize("field", ["owner", "business_units", "credit_limit", "rating"])
def test_mass_assignment_is_refused_naming_the_field(
    make_account: Callable[..., Account], client_a: APIClient, manager_a: User, field: str
):
    account = make_account()
    value = [1] if field == "business_units" else manager_a.pk
    response = client_a.patch(f"{BASE}/accounts/{account.pk}/", {field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    created = client_a.post(
        f"{BASE}/accounts/",
        {"uscc": make_uscc(), "name": "新公司", field: value},
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"k-{field}",
    )
    assert created.status_code == 400 and field in created.json()["errors"]
    assert Account.objects.count() == 1
    account.refresh_from_db()
    assert account.owner_id is None


def test_create_account_contact_and_move_an_opportunity(
    client_a: APIClient, rep_a: User, unit_a: BusinessUnit
):
    uscc = make_uscc()
    body = {"uscc": uscc, "name": "星辰科技有限公司", "industry": "I", "city": "上海"}
    first = client_a.post(f"{BASE}/accounts/", body, format="json", HTTP_IDEMPOTENCY_KEY="a1")
    assert first.status_code == 201, first.json()
    replay = client_a.post(f"{BASE}/accounts/", body, format="json", HTTP_IDEMPOTENCY_KEY="a1")
    assert replay.json() == first.json() and Account.objects.count() == 1
    account = first.json()
    assert account["uscc"] == uscc and account["business_units"] == [unit_a.pk]
    assert account["owner"] is None
    contact = client_a.post(
        f"{BASE}/contacts/",
        {
            "account": account["id"],
            "name": "李娜",
            "mobile": "138 0013 8000",
            "roles": ["decision_maker", "purchaser"],
            "is_primary": True,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="c1",
    )
    assert contact.status_code == 201, contact.json()
    assert sorted(contact.json()["roles"]) == ["decision_maker", "purchaser"]
    second = client_a.post(
        f"{BASE}/contacts/",
        {"account": account["id"], "name": "王", "email": "w@example.com", "is_primary": True},
        format="json",
        HTTP_IDEMPOTENCY_KEY="c2",
    )
    assert second.status_code == 409
    assert second.json()["errors"]["is_primary"][0]["code"] == "primary_contact_taken"
    opp = client_a.post(
        f"{BASE}/opportunities/",
        {
            "account": account["id"],
            "name": "车队",
            "amount": "1000.50",
            "stage": "proposal",
            "contacts": [{"contact": contact.json()["id"], "roles": ["decision_maker"]}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="o1",
    )
    assert opp.status_code == 201, opp.json()
    assert opp.json()["owner"] == rep_a.pk and opp.json()["probability"] == 50
    oid = opp.json()["id"]
    lost = client_a.post(
        f"{BASE}/opportunities/{oid}/move/", {"stage": "lost"}, HTTP_IDEMPOTENCY_KEY="m1"
    )
    assert lost.status_code == 400
    assert lost.json()["errors"]["lost_reason"][0]["code"] == "lost_reason_required"
    moved = client_a.post(
        f"{BASE}/opportunities/{oid}/move/",
        {"stage": "negotiation"},
        HTTP_IDEMPOTENCY_KEY="m2",
    )
    assert moved.status_code == 200 and moved.json()["stage"] == "negotiation"
    stored = Opportunity.objects.get()
    assert stored.stage_changes.count() == 2
    involved = stored.involved.get()
    assert involved.contact_id == contact.json()["id"]
    assert [r.code for r in involved.roles.all()] == ["decision_maker"]
    owner = client_a.patch(f"{BASE}/opportunities/{oid}/", {"owner": 1}, format="json")
    assert owner.status_code == 400 and "owner" in owner.json()["errors"]


def test_partner_keys_cannot_use_it(issue_key, unit_a: BusinessUnit):
    _key, raw = issue_key(unit_a, ["customers:read"])
    assert key_client(raw).get(f"{BASE}/accounts/").status_code == 403


def test_account_list_query_count_is_constant(
    make_account: Callable[..., Account], client_a: APIClient, django_assert_num_queries
):
    for n in range(3):
        make_account(f"公司{n}")
    client_a.get(f"{BASE}/accounts/")  # the caller's units are read once per user
    with django_assert_num_queries(4):
        # the rate counter, the page of accounts, their units, their USCCs

        assert len(client_a.get(f"{BASE}/accounts/").json()["results"]) == 3
    for n in range(3, 12):
        make_account(f"公司{n}")
    with django_assert_num_queries(4):
        assert len(client_a.get(f"{BASE}/accounts/").json()["results"]) == 12
