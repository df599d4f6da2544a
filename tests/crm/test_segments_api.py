"""The segments API: staff with the permission list segments, count and read their members;
an API key needs the scope and sees only the members its own unit knows, by id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from crm import services
from crm.models import Customer, Transaction
from crm.roles import MARKETING, SALES_REP
from tests.conftest import key_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
BUYERS = {"field": "purchases.count", "op": "gte", "value": 1}


@pytest.fixture
def segment(unit_a, unit_b):
    for n, unit in enumerate([unit_a, unit_a, unit_b]):
        customer = Customer.objects.create(display_name=f"客户{n}")
        Transaction.objects.create(
            business_unit=unit,
            customer=customer,
            source="t",
            external_id=str(n),
            channel="store",
            amount="10.00",
            occurred_at=datetime.now(UTC),
        )
    return services.create_segment(name="买家", rule=BUYERS, owner=None)


def test_staff_list_count_and_read_members(api, unit_a, segment, django_assert_max_num_queries):
    api.force_login(UserFactory(roles=[MARKETING], units=[unit_a]))
    listed = api.get(reverse("api:segment-api-list")).json()
    assert [s["name"] for s in listed["results"]] == ["买家"]
    count = api.get(reverse("api:segment-api-count", args=[segment.pk])).json()
    assert count["count"] == 3 and count["mode"] == "live"
    members = api.get(reverse("api:segment-api-members", args=[segment.pk])).json()
    assert len(members["results"]) == 3
    assert members["results"][0]["display_name"].startswith("客户")
    with django_assert_max_num_queries(8):
        api.get(reverse("api:segment-api-members", args=[segment.pk]), {"page_size": 2})


def test_a_rep_without_the_permission_is_refused(api, unit_a, segment):
    api.force_login(UserFactory(roles=[SALES_REP], units=[unit_a]))
    assert api.get(reverse("api:segment-api-list")).status_code == 403


def test_a_partner_key_needs_the_scope_and_sees_its_units_members_only(unit_a, segment, issue_key):
    _key, raw = issue_key(unit_a, ["customers:read"])
    assert key_client(raw).get(reverse("api:segment-api-list")).status_code == 403
    _key, raw = issue_key(unit_a, ["segments:read"], name="CRM sync")
    client = key_client(raw)
    count = client.get(reverse("api:segment-api-count", args=[segment.pk])).json()
    assert count["count"] == 2
    members = client.get(reverse("api:segment-api-members", args=[segment.pk])).json()["results"]
    assert len(members) == 2 and all(m["display_name"] is None for m in members)


def test_an_unknown_segment_is_a_problem_404(api, unit_a):
    api.force_login(UserFactory(roles=[MARKETING], units=[unit_a]))
    answer = api.get(reverse("api:segment-api-count", args=[999999]))
    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("application/problem+json")
