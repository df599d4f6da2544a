"""Races on the API, with barrier-released threads on their own connections (PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from crm.models import BusinessUnit, Transaction
from tests.conftest import key_client
from tests.crm.test_customer_concurrency import run_together
from tests.factories import BusinessUnitFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_units_pushing_the_same_order_id_at_once_get_201_and_409(issue_key):
    units = [BusinessUnitFactory(code="AUTO"), BusinessUnitFactory(code="PROP")]
    clients = [key_client(issue_key(u, ["transactions:write"])[1]) for u in units]
    for round_ in range(6):
        statuses: dict[int, tuple[int, dict]] = {}

        def push(n: int, round_: int = round_, statuses: dict = statuses) -> None:
            body = {
                "source": "shared",
                "external_id": f"R-{round_}",
                "occurred_at": "2026-11-24T10:15:00+08:00",
                "amount": f"{n + 1}.00",
                "channel": "store",
                "customer": {
                    "identities": [{"type": "mobile", "value": f"1380013{n}{round_:03d}"}]
                },
            }
            response = clients[n].post(
                "/api/v1/transactions/",
                json.dumps(body),
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=f"r{round_}",
            )
            statuses[n] = (response.status_code, response.json())

        assert run_together(2, push) == []
        codes = sorted(code for code, _body in statuses.values())
        assert codes == [201, 409], statuses
        loser = next(body for code, body in statuses.values() if code == 409)
        assert loser["code"] == "external_id_taken"
        assert list(loser["errors"]) == ["external_id"]
        assert "amount" not in json.dumps(loser) and "customer" not in loser
        stored = Transaction.objects.get(source="shared", external_id=f"R-{round_}")
        winner = next(n for n, (code, _b) in statuses.items() if code == 201)
        assert stored.business_unit == units[winner]
    assert Transaction.objects.count() == 6


def test_two_admins_creating_the_same_unit_code_at_once_get_a_field_error(api, admin_user):
    from rest_framework.test import APIClient

    def create(n: int) -> None:
        client = APIClient()
        client.force_authenticate(admin_user)
        results[n] = client.post(
            "/api/v1/business-units/", {"code": "race", "name": f"单位{n}"}, format="json"
        )

    for _round in range(4):
        BusinessUnit.objects.filter(code="RACE").delete()
        results: dict[int, object] = {}
        assert run_together(2, create) == []
        codes = sorted(r.status_code for r in results.values())
        assert codes == [201, 400], [r.content for r in results.values()]
        refused = next(r for r in results.values() if r.status_code == 400).json()
        assert refused["errors"]["code"][0]["code"] == "unique"
        assert BusinessUnit.objects.filter(code="RACE").count() == 1


def test_two_admins_adding_the_same_unit_code_in_the_admin_get_a_field_error(admin_user):
    from django.test import Client

    from crm.models import User

    admin_user.is_superuser = True
    admin_user.save()
    user = User.objects.get(pk=admin_user.pk)

    def add(n: int) -> None:
        client = Client()
        client.force_login(user)
        results[n] = client.post(
            "/admin/crm/businessunit/add/",
            {
                "code": "ADMRACE",
                "name": f"单位{n}",
                "industry": "other",
                "time_zone": "Asia/Shanghai",
                "is_active": "on",
            },
        )

    for _round in range(4):
        BusinessUnit.objects.filter(code="ADMRACE").delete()
        results: dict[int, object] = {}
        assert run_together(2, add) == []
        codes = sorted(r.status_code for r in results.values())
        assert codes == [200, 302], codes
        form_page = next(r for r in results.values() if r.status_code == 200)
        assert form_page.context["adminform"].form.errors["code"]
        assert BusinessUnit.objects.filter(code="ADMRACE").count() == 1


def test_the_throttle_admits_exactly_its_limit_under_concurrency(issue_key):
    unit = BusinessUnitFactory(code="THR")
    _key, raw = issue_key(unit, ["business_units:read"], rate="10/min")
    statuses: list[int] = []

    def call(n: int) -> None:
        client = key_client(raw)
        for _ in range(3):
            statuses.append(client.get("/api/v1/me/").status_code)

    assert run_together(8, call) == []
    assert sorted(statuses).count(200) == 10 and statuses.count(429) == 14


def test_the_counter_is_one_atomic_increment_with_expiry():
    from crm.models import RateCounter
    from crm.ratelimit import count_hit, purge_rate_counters

    hits: list[int] = []
    assert run_together(8, lambda n: hits.extend(count_hit("t:x", 60)[0] for _ in range(5))) == []
    assert sorted(hits) == list(range(1, 41))
    RateCounter.objects.filter(key="t:x").update(expires_at="2000-01-01T00:00:00Z")
    assert count_hit("t:x", 60)[0] == 1  # the window expired: counting starts again
    RateCounter.objects.create(key="old", hits=3, expires_at="2000-01-01T00:00:00Z")
    assert purge_rate_counters() == 1
