"""The segments API: staff with the permission list segments, count and read their members;
an API key needs the scope and sees only the members its own unit knows, by id."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from crm import selectors, services
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


# --- As of a past month (GET /api/segments/{id}/count-as-of/?month=YYYY-MM) ---------------

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTIVE = {"field": "metrics.lifecycle_stage", "op": "in", "value": ["active"]}


def _bought(who: Customer, unit, day: date) -> None:
    Transaction.objects.create(
        business_unit=unit,
        customer=who,
        source="asof",
        external_id=f"{who.pk}-{day}",
        channel="store",
        amount="10.00",
        occurred_at=datetime.combine(day, time(12), tzinfo=SHANGHAI),
    )


@pytest.fixture
def february(unit_a, unit_b):
    """Two customers active in unit A and one in unit B on 1 March (February's snapshot);
    a fourth, added and active in unit A since, was no member then."""
    for n, unit in enumerate([unit_a, unit_a, unit_b]):
        who = Customer.objects.create(
            display_name=f"二月{n}", created_at=datetime(2025, 10, 1, tzinfo=SHANGHAI)
        )
        _bought(who, unit, date(2025, 11, 10))
        _bought(who, unit, date(2026, 2, 10 + n))
    services.snapshot_month(month=date(2026, 2, 1))
    late = Customer.objects.create(display_name="三月")
    _bought(late, unit_a, date(2026, 3, 10))
    _bought(late, unit_a, date(2026, 3, 11))
    return services.create_segment(name="二月活跃", rule=ACTIVE, owner=None)


def test_staff_count_a_segment_as_it_was_after_a_snapshot_month(api, unit_a, february):
    api.force_login(UserFactory(roles=[MARKETING], units=[unit_a]))
    url = reverse("api:segment-api-count-as-of", args=[february.pk])
    answer = api.get(url, {"month": "2026-02"})
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "count": 3,
        "month": "2026-02-01",
        "day": "2026-03-01",
        "as_of": "2026-02-28",
    }
    assert answer.json()["count"] == selectors.count_rule_as_of(ACTIVE, date(2026, 2, 1))
    missing = api.get(url, {"month": "2025-07"})
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("application/problem+json")
    assert missing.json()["code"] == "no_metrics_snapshot"
    assert api.get(url).json()["code"] == "no_metrics_snapshot"  # no month at all


def test_a_rule_without_history_is_refused_naming_the_field(api, unit_a, february):
    api.force_login(UserFactory(roles=[MARKETING], units=[unit_a]))
    by_kind = services.create_segment(
        name="个人",
        rule={"field": "customer.kind", "op": "in", "value": ["person"]},
        owner=None,
    )
    answer = api.get(
        reverse("api:segment-api-count-as-of", args=[by_kind.pk]), {"month": "2026-02"}
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "rule_invalid"


def test_a_partner_key_counts_as_of_only_the_members_its_unit_knows(
    api, unit_a, february, issue_key
):
    url = reverse("api:segment-api-count-as-of", args=[february.pk])
    _key, raw = issue_key(unit_a, ["customers:read"])
    assert key_client(raw).get(url, {"month": "2026-02"}).status_code == 403
    _key, raw = issue_key(unit_a, ["segments:read"], name="CRM sync as of")
    answer = key_client(raw).get(url, {"month": "2026-02"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["count"] == 2  # unit B's member is not the key's to count
    api.force_login(UserFactory(roles=[SALES_REP], units=[unit_a]))
    assert api.get(url, {"month": "2026-02"}).status_code == 403
