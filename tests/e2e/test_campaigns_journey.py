"""Journey (zh-Hans): marketing finds no campaign yet, creates one for the dealership with a
period out of order (told so in Chinese), fixes it and targets the "car owners" segment,
schedules and starts it after confirmations (the audience is frozen: a customer tagged later
is not in it), issues the property-fee coupon to the audience and watches the job finish, and
finds the campaign in the list filtered by status; creates a trigger rule through the sentence
form (told in Chinese that the paying unit must fund the template), and reads the group overview
after two redemptions at the property company. Screenshots:
tests/e2e/screenshots/campaigns-*.png."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns import services
from campaigns.models import (
    TRANSACTION_EVENT,
    Campaign,
    CampaignStatus,
    Coupon,
    CouponKind,
    CouponTemplate,
    TriggerRule,
)
from crm.demo import load_platform_demo
from crm.models import BusinessUnit, Customer, CustomerTag, Tag, TagCategory
from crm.services import create_segment
from tests.e2e.conftest import shoot
from tests.e2e.test_jobs_and_keys_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_create_start_and_issue_a_campaign_to_its_frozen_audience(page):
    from playwright.sync_api import expect

    load_platform_demo()
    auto = BusinessUnit.objects.get(code="AUTO")
    prop = BusinessUnit.objects.get(code="PROP")
    tag = Tag.objects.create(category=TagCategory.objects.create(name="车主"), name="新车车主")
    for name in ("张伟", "李娜", "王芳"):
        CustomerTag.objects.create(customer=Customer.objects.create(display_name=name), tag=tag)
    create_segment(
        name="新车车主",
        rule={"field": "customer.tags", "op": "has_any", "value": [tag.pk]},
        owner=None,
    )
    template = CouponTemplate.objects.create(
        business_unit=auto,
        name="物业费抵扣券 200 元",
        kind=CouponKind.FIXED,
        value=Decimal("200"),
        minimum_spend=Decimal("0"),
        valid_days=90,
        stock=1000,
        per_customer_limit=1,
    )
    services.set_funding(template=template, shares=[(auto, Decimal("100"))])
    template.redeemable_units.set([prop])

    sign_in(page, "marketing")
    page.goto("/campaigns/")
    expect(page.get_by_test_id("empty-state")).to_contain_text("还没有营销活动")
    shoot(page, "campaigns-list-empty")

    page.get_by_test_id("campaign-create").first.click()
    page.locator("#id_name").fill("新车主物业礼遇")
    page.locator("#id_business_unit").select_option(str(auto.pk))
    page.locator("#id_starts_on").fill("2027-03-01")
    page.locator("#id_ends_on").fill("2027-02-01")
    page.locator("#id_budget").fill("100000")
    page.get_by_test_id("campaign-save").click()
    expect(page.locator(".invalid-feedback")).to_contain_text("活动结束日期不能早于开始日期")
    shoot(page, "campaigns-form-errors")
    page.locator("#id_ends_on").fill("2027-05-31")
    page.locator("#id_target_segment").select_option(label="新车车主")
    page.get_by_test_id("campaign-save").click()
    expect(page.get_by_test_id("campaign-audience")).to_contain_text("活动开始时冻结")

    page.get_by_test_id("campaign-move-scheduled").click()
    expect(page.get_by_test_id("confirm-modal")).to_be_visible()
    page.get_by_test_id("confirm-yes").click()
    expect(page.get_by_test_id("campaign-status")).to_have_text("已排期")
    page.get_by_test_id("campaign-move-active").click()
    expect(page.get_by_test_id("confirm-modal")).to_contain_text("冻结")
    page.get_by_test_id("confirm-yes").click()
    expect(page.get_by_test_id("campaign-audience")).to_contain_text("3 位客户")
    campaign = Campaign.objects.get()
    assert campaign.status == CampaignStatus.ACTIVE
    late = Customer.objects.create(display_name="赵磊")
    CustomerTag.objects.create(customer=late, tag=tag)  # joins the segment after the start

    page.get_by_test_id("campaign-issue").first.click()
    expect(page.get_by_test_id("confirm-modal")).to_contain_text("3 位客户")
    page.get_by_test_id("confirm-yes").click()
    expect(page.get_by_test_id("job-percent")).to_have_text("100%", timeout=15000)
    assert Coupon.objects.filter(campaign=campaign).count() == 3
    assert not Coupon.objects.filter(customer=late).exists()
    page.reload()
    expect(page.get_by_test_id("budget-used")).to_have_text("1%")
    shoot(page, "campaigns-detail-issued")

    page.get_by_test_id("campaign-results-link").click()
    for chart in ("chart-days", "chart-rates"):  # drawn by ECharts (its SVG renderer)
        expect(page.get_by_test_id(chart).locator("svg").first).to_be_visible()
    shoot(page, "campaigns-results")

    page.goto("/campaigns/?status=active")
    expect(page.get_by_test_id("campaign-row")).to_contain_text("新车主物业礼遇")
    shoot(page, "campaigns-list")

    # A trigger rule through the sentence form: the paying unit must fund the template
    page.get_by_test_id("campaigns-rules-link").click()
    expect(page.get_by_test_id("empty-state")).to_contain_text("还没有触发规则")
    page.get_by_test_id("rule-create").first.click()
    page.locator("#id_name").fill("购车送物业费")
    page.locator("#id_event_type").select_option(TRANSACTION_EVENT)
    page.locator("#id_source_business_unit").select_option(str(auto.pk))
    page.locator("#id_min_amount").fill("100000")
    page.locator("#id_template").select_option(str(template.pk))
    page.locator("#id_funding_business_unit").select_option(str(prop.pk))
    page.locator("#id_budget_count").fill("100")
    page.locator("#id_budget_value").fill("20000")
    page.get_by_test_id("rule-save").click()
    expect(page.get_by_test_id("rule-error-funding_business_unit")).to_contain_text(
        "出资单位必须是该券模板的出资单位之一"
    )
    shoot(page, "campaigns-rule-form-errors")
    page.locator("#id_funding_business_unit").select_option(str(auto.pk))
    page.get_by_test_id("rule-save").click()
    expect(page.get_by_test_id("rule-sentence")).to_contain_text("发生在星辰汽车")
    rule = TriggerRule.objects.get()
    assert (rule.funding_business_unit, rule.min_amount) == (auto, Decimal("100000"))
    shoot(page, "campaigns-rules")

    # Two of the coupons redeemed at the property company: the group overview
    for n, coupon in enumerate(Coupon.objects.filter(campaign=campaign).order_by("pk")[:2]):
        services.redeem_coupon(
            code=coupon.code, business_unit=prop, reference=f"PO-{n}", order_amount="880"
        )
    services.refresh_rollup()  # the job beat runs every 10 minutes: the page says as of when
    page.goto("/campaigns/")
    page.get_by_test_id("campaigns-overview-link").click()
    expect(page.get_by_test_id("overview-redeemed")).to_have_text("2")
    for chart in ("chart-months", "chart-units", "chart-flows"):
        expect(page.get_by_test_id(chart).locator("svg").first).to_be_visible()
    expect(page.get_by_test_id("overview-pair-row")).to_contain_text("¥400.00")
    expect(page.get_by_test_id("overview-as-of")).to_contain_text("数据截至")
    shoot(page, "campaigns-overview-zh")
