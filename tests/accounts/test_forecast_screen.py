"""The forecast screen: per month, per rep and per unit, the table and the chart's data equal
a hand computation; totals rounded once; mine/team; both languages; pinned query count."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from django.urls import reverse

from accounts import services
from crm.models import BusinessUnit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FORECAST = reverse("accounts:forecast")


@pytest.fixture
def plan(make_account, rep_a, manager_a, unit_a, stages):
    account = make_account()
    other_unit = BusinessUnit.objects.create(code="LOG", name="物流")
    rep_other = UserFactory(username="rep_o", units=[other_unit])
    rows = [
        (rep_a, unit_a, "100000.10", "qualification", date(2027, 1, 15)),  # 10 %
        (rep_a, unit_a, "33333.33", "proposal", date(2027, 1, 31)),  # 50 %
        (manager_a, unit_a, "250000.00", "negotiation", date(2027, 2, 1)),  # 75 %
        (manager_a, unit_a, "999.99", "needs_analysis", None),  # 25 %
        (rep_a, unit_a, "500000.00", "won", date(2027, 1, 2)),  # closed: not forecast
        (rep_other, other_unit, "70000.00", "proposal", date(2027, 2, 3)),  # other unit
    ]
    for owner, unit, amount, stage, close in rows:
        services.create_opportunity(
            account=account,
            name=f"{stage} {amount}",
            owner=owner,
            business_unit=unit,
            user=owner,
            amount=amount,
            stage=stages[stage],
            expected_close=close,
        )
    return other_unit


def table(html: str) -> list[list[str]]:
    body = html[html.index('data-testid="forecast-table"') :]
    rows = re.findall(r'<tr[^>]*data-testid="forecast-(?:row|total)">(.*?)</tr>', body, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
    ]


def chart(html: str) -> list[dict]:
    found = re.search(r'<script id="forecast-data" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1))


def test_per_month_table_and_chart_equal_a_hand_computation(client, manager_a, plan):
    client.force_login(manager_a)
    html = client.get(FORECAST).content.decode()  # a manager starts on the team
    assert table(html) == [
        # 100000.10 × 10 % + 33333.33 × 50 % = 26666.675
        ["2027-01", "2", "¥133,333.43", "¥26,666.68"],
        ["2027-02", "1", "¥250,000.00", "¥187,500.00"],
        ["无预计成交日期", "1", "¥999.99", "¥250.00"],  # 249.9975
        # 26666.675 + 187500 + 249.9975 = 214416.6725, rounded once
        ["合计", "4", "¥384,333.42", "¥214,416.67"],
    ]
    assert [(r["label"], r["weighted"]) for r in chart(html)] == [
        ("2027-01", "26666.68"),
        ("2027-02", "187500.00"),
        ("无预计成交日期", "250.00"),
    ]


def test_per_rep_per_unit_and_mine(client, rep_a, manager_a, unit_a, plan):
    client.force_login(manager_a)
    per_rep = table(client.get(FORECAST, {"group": "owner"}).content.decode())
    assert sorted(per_rep[:-1]) == sorted(
        [
            [rep_a.get_full_name() or "rep_a", "2", "¥133,333.43", "¥26,666.68"],
            [manager_a.get_full_name() or "manager_a", "2", "¥250,999.99", "¥187,750.00"],
        ]
    )
    client.force_login(UserFactory(is_superuser=True))
    per_unit = table(
        client.get(FORECAST, {"group": "business_unit", "view": "team"}).content.decode()
    )
    assert per_unit == [
        ["星辰汽车", "4", "¥384,333.42", "¥214,416.67"],
        ["物流", "1", "¥70,000.00", "¥35,000.00"],
        ["合计", "5", "¥454,333.42", "¥249,416.67"],
    ]
    client.force_login(rep_a)
    mine = table(client.get(FORECAST).content.decode())  # a rep starts on their own
    assert mine[-1] == ["合计", "2", "¥133,333.43", "¥26,666.68"]
    usd = client.get(FORECAST, {"currency": "USD"}).content.decode()
    assert 'data-testid="empty-state"' in usd


def test_in_english(client, manager_a, plan):
    client.force_login(manager_a)
    html = client.get(FORECAST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert table(html)[-1] == ["Total", "4", "CN¥384,333.42", "CN¥214,416.67"]
    assert "No expected close" in html and "Weighted forecast" in html


def test_forecast_query_count_does_not_grow(
    client, manager_a, plan, make_account, unit_a, stages, django_assert_num_queries
):
    client.force_login(manager_a)
    client.get(FORECAST, {"group": "owner"})
    with django_assert_num_queries(6) as captured:
        client.get(FORECAST, {"group": "owner"})
    for i in range(20):
        owner = UserFactory(units=[unit_a])
        services.create_opportunity(
            account=make_account(),
            name=f"more {i}",
            owner=owner,
            business_unit=unit_a,
            user=owner,
            amount="10",
            stage=stages["proposal"],
        )
    with django_assert_num_queries(len(captured.captured_queries)):
        client.get(FORECAST, {"group": "owner"})
