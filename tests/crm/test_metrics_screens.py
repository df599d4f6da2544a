"""The customer metrics on screen: dashboard, churn warnings, the list's stage and segment
filters, the 360 view's panel and marketing's home card."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import Customer, CustomerMetrics, MetricsSnapshot
from crm.roles import MARKETING, SALES_REP
from tests.crm.test_metrics import buy, customer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketing(unit_a):
    return UserFactory(roles=[MARKETING], units=[unit_a], is_staff=True)


def today() -> date:
    return timezone.localdate()


def churner(unit, name: str, last: int) -> Customer:
    """Three purchases 10 days apart, the last ``last`` days ago: overdue by ``last`` - 20."""
    who = customer(name)
    for n in (last + 20, last + 10, last):
        buy(who, unit, today() - timedelta(days=n), 100)
    return who


def test_the_dashboard_says_when_nothing_is_computed(client, marketing) -> None:
    client.force_login(marketing)
    html = client.get(reverse("metrics-dashboard")).content.decode()
    assert 'data-testid="empty-state"' in html and "chart-segments" not in html
    assert 'data-testid="metrics-recompute-link"' in html  # marketing may recompute


def test_the_dashboard_reads_a_fixed_number_of_queries(
    client, marketing, unit_a, unit_b, django_assert_max_num_queries
) -> None:
    client.force_login(marketing)

    def data(start: int, n: int) -> None:
        for k in range(n):
            churner(unit_a if k % 2 else unit_b, f"C{start + k}", 40 + k)
        both = customer(f"B{start}")
        buy(both, unit_a, today() - timedelta(days=3), 10)
        buy(both, unit_b, today() - timedelta(days=2), 10)
        services.snapshot_month(month=today().replace(day=1) - timedelta(days=1))
        services.recompute_metrics()

    data(0, 3)
    client.get(reverse("metrics-dashboard"))
    with django_assert_max_num_queries(20) as few:
        response = client.get(reverse("metrics-dashboard"))
    html = response.content.decode()
    for chart in (
        "segments",
        "stages",
        "trend",
        "transitions",
        "heatmap",
        "forecast",
        "engagement",
    ):
        assert f'data-testid="chart-{chart}"' in html, chart
    assert 'data-testid="overlap-table"' in html and 'data-testid="churn-row"' in html
    data(100, 12)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("metrics-dashboard"))
    trend = response.context["data"].trend
    assert trend and {row["month"] for row in trend} == {
        f"{today().replace(day=1) - timedelta(days=1):%Y-%m}"
    }
    assert MetricsSnapshot.objects.filter(customer__isnull=True).exists()


def test_a_rep_sees_no_dashboard_but_the_panel(client, unit_a) -> None:
    rep = UserFactory(roles=[SALES_REP], units=[unit_a])
    who = churner(unit_a, "王", 60)
    services.recompute_metrics()
    client.force_login(rep)
    assert client.get(reverse("metrics-dashboard")).status_code == 403
    html = client.get(reverse("customer-detail", args=[who.pk])).content.decode()
    assert 'data-testid="metrics-panel"' in html
    assert 'data-testid="panel-churn"' in html and 'data-testid="panel-recency">60<' in html


def test_the_panel_before_the_first_recompute(client, unit_a) -> None:
    rep = UserFactory(roles=[SALES_REP], units=[unit_a])
    who = customer()
    client.force_login(rep)
    html = client.get(reverse("customer-detail", args=[who.pk])).content.decode()
    assert 'data-testid="panel-no-metrics"' in html


def test_churn_warnings_are_paginated_and_sorted(client, marketing, unit_a) -> None:
    client.force_login(marketing)
    url = reverse("metrics-churn")
    assert 'data-testid="empty-state"' in client.get(url).content.decode()
    for n in range(27):
        churner(unit_a, f"C{n:02d}", 40 + n)
    services.recompute_metrics()
    first = client.get(url).context["page"]
    assert len(first.object_list) == 25 and first.has_next()
    overdue = [m.churn_overdue_days for m in first.object_list]
    assert overdue == sorted(overdue, reverse=True) and overdue[0] == 46  # 66 - 2 × 10
    assert len(client.get(url, {"page": 2}).context["page"].object_list) == 2
    by_count = client.get(url, {"sort": "frequency"}).context["page"].object_list
    assert all(m.frequency == 3 for m in by_count)
    assert client.get(url, {"sort": "nonsense"}).status_code == 200


def test_the_customer_list_filters_by_stage_and_segment(
    client, unit_a, django_assert_max_num_queries
) -> None:
    rep = UserFactory(roles=[SALES_REP], units=[unit_a])
    fresh = [customer(f"N{n:02d}") for n in range(30)]
    for n, who in enumerate(fresh):  # recency 1..30 days: all new, R scores apart
        buy(who, unit_a, today() - timedelta(days=n + 1), 10)
    old = customer("老")
    buy(old, unit_a, today() - timedelta(days=500), 10)
    services.recompute_metrics()
    client.force_login(rep)
    url = reverse("customer-list")
    client.get(url, {"stage": "new"})
    with django_assert_max_num_queries(12):
        page = client.get(url, {"stage": "new"}).context["page"]
    assert len(page.rows) == 25 and page.has_next
    rest = client.get(url, {"stage": "new", "after": page.next_cursor}).context["page"]
    assert {c.pk for c in page.rows + rest.rows} == {c.pk for c in fresh}
    assert [c.pk for c in client.get(url, {"stage": "lost"}).context["page"].rows] == [old.pk]
    lost = {c.pk for c in client.get(url, {"segment": "lost"}).context["page"].rows}
    # Ranks 1-7 of 31 by recency score R = 1, and every F is 1: the old customer and the
    # six least recent new ones are "lost".
    assert lost == {m.customer_id for m in CustomerMetrics.objects.filter(rfm_segment="lost")}
    assert old.pk in lost and len(lost) == 7
    html = client.get(url, {"stage": "dormant"}).content.decode()
    assert 'data-testid="empty-state"' in html and 'data-testid="filter-stage"' in html
    # An unknown value is ignored, not an error.
    assert len(client.get(url, {"stage": "bogus"}).context["page"].rows) == 25


def test_exports_and_saved_views_keep_the_metrics_filters(unit_a) -> None:
    from crm.selectors import CUSTOMER_FILTER_PARAMS, CustomerFilters, matching_customers

    assert {"stage", "segment"} <= set(CUSTOMER_FILTER_PARAMS)
    rep = UserFactory(roles=[SALES_REP], units=[unit_a])
    who, other = customer("A"), customer("B")
    buy(who, unit_a, today() - timedelta(days=2), 10)
    services.recompute_metrics()
    filters = CustomerFilters.from_params({"stage": "new", "segment": "bogus"})
    assert filters.as_params() == {"stage": "new"} and filters.active
    found, _audit = matching_customers(user=rep, filters=filters)
    assert list(found) == [who] and other not in found


def test_marketing_sees_the_churn_warnings_on_the_home_page(client, marketing, unit_a) -> None:
    client.force_login(marketing)
    html = client.get(reverse("home")).content.decode()
    assert "No customer is overdue" in html or "没有客户" in html
    who = churner(unit_a, "王伟", 50)
    services.recompute_metrics()
    html = client.get(reverse("home")).content.decode()
    assert reverse("customer-detail", args=[who.pk]) in html
    assert reverse("metrics-churn") in html
    rep = UserFactory(roles=[SALES_REP], units=[unit_a])
    client.force_login(rep)
    assert reverse("metrics-churn") not in client.get(reverse("home")).content.decode()


def test_the_panel_shows_each_units_figures_in_the_same_query(
    client, unit_a, unit_b, django_assert_num_queries
) -> None:
    rep = UserFactory(roles=[SALES_REP], units=[unit_a])
    one_unit, two_units = customer("甲"), customer("乙")
    buy(one_unit, unit_a, today() - timedelta(days=5), 100)
    buy(two_units, unit_a, today() - timedelta(days=5), 100)
    buy(two_units, unit_b, today() - timedelta(days=400), 30)
    services.recompute_metrics()
    client.force_login(rep)
    client.get(reverse("customer-detail", args=[one_unit.pk]))  # warm the session and caches
    with CaptureQueriesContext(connection) as once:
        html = client.get(reverse("customer-detail", args=[one_unit.pk])).content.decode()
    assert html.count('data-testid="panel-unit-row"') == 1
    with django_assert_num_queries(len(once.captured_queries)):
        html = client.get(reverse("customer-detail", args=[two_units.pk])).content.decode()
    assert html.count('data-testid="panel-unit-row"') == 2
    assert unit_b.name in html and "流失" in html  # unit B: last purchase 400 days ago, lost
