"""Journey (zh-Hans): marketing builds the cross-sell segment "bought a car in the last 90
days, never paid a property fee" in the form builder, watches the live count and the masked
preview follow each condition, saves it, freezes it after a confirmation, shows it as it was
on the 1st of the month (last month's metrics snapshot), and finds it in the list; then an
administrator gives a tag its rule in the admin's builder. Screenshots:
tests/e2e/screenshots/segments-*.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from crm import selectors, services
from crm.demo import load_platform_demo
from crm.models import (
    BusinessUnit,
    Customer,
    Identity,
    Segment,
    SegmentMode,
    Tag,
    TagCategory,
    Transaction,
)
from crm.services.metrics import previous_months
from tests.e2e.conftest import shoot
from tests.e2e.test_jobs_and_keys_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _customers() -> None:
    auto = BusinessUnit.objects.get(code="AUTO")
    prop = BusinessUnit.objects.get(code="PROP")
    now = timezone.now()
    rows = [
        ("张伟", "+8613800138001", [(auto, 30)]),
        ("李娜", "+8613800138002", [(auto, 10), (prop, 5)]),
        ("王芳", "+8613800138003", [(auto, 200)]),
        ("刘洋", "+8613800138004", [(auto, 60)]),
    ]
    for n, (name, phone, purchases) in enumerate(rows):
        customer = Customer.objects.create(display_name=name, region="上海")
        Identity.objects.create(customer=customer, type="mobile", value=phone)
        for m, (unit, days) in enumerate(purchases):
            Transaction.objects.create(
                business_unit=unit,
                customer=customer,
                source="pos",
                external_id=f"{n}-{m}",
                channel="store",
                amount="150000.00",
                occurred_at=now - timedelta(days=days),
            )


def test_build_count_save_freeze_a_segment_and_give_a_tag_its_rule(page):
    from playwright.sync_api import expect

    load_platform_demo()
    _customers()
    auto = BusinessUnit.objects.get(code="AUTO")
    prop = BusinessUnit.objects.get(code="PROP")

    sign_in(page, "marketing")
    page.goto("/segments/")
    expect(page.get_by_test_id("empty-state")).to_contain_text("还没有人群")
    shoot(page, "segments-list-empty")
    page.get_by_test_id("segment-create").first.click()

    page.get_by_test_id("segment-name").fill("近90天购车未缴物业费")
    condition = page.get_by_test_id("rule-condition").nth(0)
    condition.get_by_test_id("condition-field").select_option("purchases.units")
    condition = page.get_by_test_id("rule-condition").nth(0)
    condition.get_by_test_id("condition-value").select_option(str(auto.pk))
    condition.get_by_test_id("condition-days").fill("90")
    expect(page.get_by_test_id("segment-count")).to_have_text("3")  # 张伟, 李娜, 刘洋

    page.get_by_test_id("add-condition").first.click()
    second = page.get_by_test_id("rule-condition").nth(1)
    second.get_by_test_id("condition-field").select_option("purchases.units")
    second = page.get_by_test_id("rule-condition").nth(1)
    second.get_by_test_id("condition-op").select_option("has_none")
    second = page.get_by_test_id("rule-condition").nth(1)
    second.get_by_test_id("condition-value").select_option(str(prop.pk))
    expect(page.get_by_test_id("segment-count")).to_have_text("2")
    preview = page.get_by_test_id("segment-preview")
    expect(preview).to_contain_text("张伟")
    expect(preview).to_contain_text("138****8001")
    expect(preview).not_to_contain_text("李娜")
    expect(page.get_by_test_id("rule-summary")).to_contain_text("不包含任何")
    shoot(page, "segments-builder-live-count")

    page.get_by_test_id("segment-save").click()
    expect(page.get_by_test_id("segment-count")).to_have_text("2")
    expect(page.get_by_test_id("segment-mode")).to_have_text("实时")
    page.get_by_test_id("segment-freeze").click()
    expect(page.get_by_test_id("confirm-modal")).to_be_visible()
    page.get_by_test_id("confirm-yes").click()
    expect(page.get_by_test_id("segment-mode")).to_have_text("已冻结")
    segment = Segment.objects.get()
    assert segment.mode == SegmentMode.FROZEN
    assert segment.snapshots.get().member_count == 2
    shoot(page, "segments-detail-frozen")

    # last month's metrics snapshot: the segment as it was on the 1st of this month
    Customer.objects.update(created_at=timezone.now() - timedelta(days=400))
    last_month = previous_months(timezone.localdate(), 1)[0]
    services.snapshot_month(month=last_month)
    expected = selectors.segment_count_as_of(segment, last_month)
    page.reload()
    page.get_by_test_id("as-of-month").select_option(f"{last_month:%Y-%m-%d}")
    expect(page.get_by_test_id("as-of-count")).to_have_text(str(expected))
    expect(page.get_by_test_id("as-of-changes")).to_contain_text("此后")
    shoot(page, "segments-detail-as-of")

    page.goto("/segments/")
    expect(page.get_by_test_id("segment-row")).to_contain_text("近90天购车未缴物业费")
    shoot(page, "segments-list")

    tag = Tag.objects.create(
        category=TagCategory.objects.create(name="交叉销售"), name="车主未缴物业费"
    )
    page.goto("/admin/crm/tagrule/add/")
    page.locator("#id_tag").select_option(str(tag.pk))
    rule = page.get_by_test_id("rule-condition").nth(0)
    rule.get_by_test_id("condition-field").select_option("purchases.units")
    rule = page.get_by_test_id("rule-condition").nth(0)
    rule.get_by_test_id("condition-value").select_option(str(auto.pk))
    shoot(page, "segments-admin-tag-rule")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_be_visible()
    assert tag.tag_rule.rule == {
        "all": [{"field": "purchases.units", "op": "has_any", "value": [auto.pk]}]
    }
