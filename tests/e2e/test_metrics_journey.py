"""Journey (zh-Hans): marketing finds the customers at risk of churn on the home page, opens
the metrics dashboards (every chart drawn), follows a segment into the filtered customer
list, and reads a customer's metrics in the 360 view; the dashboards at 360 px too."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import services
from crm.demo import load_platform_demo
from crm.models import BusinessUnit, Customer, CustomerMetrics, Transaction
from tests.e2e.conftest import shoot
from tests.e2e.test_jobs_and_keys_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def arrange() -> Customer:
    load_platform_demo()
    units = list(BusinessUnit.objects.order_by("code"))
    today = timezone.localdate()
    number = 0
    overdue = None
    for n in range(40):
        who = Customer.objects.create(display_name=f"客户{n:02d}", region="上海")
        # Every few days apart, the last purchase n * 9 days ago; some in two units.
        for k in range(1 + n % 5):
            number += 1
            Transaction.objects.create(
                business_unit=units[(n + k) % 2 if n % 3 == 0 else n % len(units)],
                customer=who,
                source="pos",
                external_id=f"E{number}",
                channel="store",
                amount=Decimal(50 + 37 * n + k),
                occurred_at=timezone.now() - timedelta(days=n * 9 + k * 7, hours=3),
            )
        if n % 5 == 4 and overdue is None and n * 9 > 3 * 7 * 2:
            overdue = who
    for month in services.metrics.previous_months(today, 3):
        services.snapshot_month(month=month)
    services.recompute_metrics()
    assert overdue is not None and CustomerMetrics.objects.get(customer=overdue).churn_risk
    return overdue


def test_marketing_reads_the_metrics_dashboards(page):
    from playwright.sync_api import expect

    overdue = arrange()
    sign_in(page, "marketing")
    card = page.locator("[data-card=churn-warnings]")
    expect(card).to_contain_text("有流失风险的客户")
    expect(card.get_by_test_id("work-item").first).to_contain_text("逾期")
    shoot(page, "home-marketing-churn-zh")

    page.get_by_role("link", name="指标", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/metrics/$"))
    for chart in ("segments", "stages", "trend", "heatmap", "forecast", "engagement"):
        expect(page.locator(f"[data-testid=chart-{chart}] svg").first).to_be_visible()
    expect(page.get_by_test_id("segment-table")).to_contain_text("冠军客户")
    expect(page.get_by_test_id("churn-table")).to_be_visible()
    shoot(page, "metrics-dashboard-zh")

    page.get_by_test_id("stage-link").filter(has_text="活跃").click()
    expect(page).to_have_url(re.compile(r"/customers/\?stage=active"))
    expect(page.get_by_test_id("filter-stage")).to_have_value("active")
    shoot(page, "customers-by-stage-zh")

    page.goto(f"/customers/{overdue.pk}/")
    panel = page.get_by_test_id("metrics-panel")
    expect(panel.get_by_test_id("panel-churn")).to_contain_text("流失预警")
    expect(panel.get_by_test_id("panel-stage")).to_have_attribute(
        "title", re.compile("生命周期阶段")
    )
    panel.scroll_into_view_if_needed()
    shoot(page, "customer-360-metrics-zh")

    page.goto("/metrics/churn/")
    expect(page.get_by_test_id("churn-row").first).to_be_visible()
    shoot(page, "metrics-churn-zh")

    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/metrics/")
    expect(page.locator("[data-testid=chart-segments] svg").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    shoot(page, "metrics-dashboard-zh-360")
