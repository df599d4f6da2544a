"""Journey (zh-Hans) at the member desk: member service finds a member by the last four
digits of the phone (masked in the results), opens the member page (level progress, points
expiring within 30 days, lots, ledger), enrols a new customer by phone, adjusts the new
member's points with a reason and filters the ledger. Screenshots:
tests/e2e/screenshots/member-desk-*.png."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.demo import load_platform_demo
from crm.models import BusinessUnit
from crm.services import IdentityInput
from members import services
from members.models import EarningRule, Member, PointsEntry, PointValue
from tests.e2e.conftest import shoot
from tests.e2e.test_jobs_and_keys_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _existing_member() -> Member:
    mart = BusinessUnit.objects.get(code="MART")
    prop = BusinessUnit.objects.get(code="PROP")
    PointValue.objects.get_or_create(
        valid_from=date(2020, 1, 1), defaults={"value": Decimal("0.01")}
    )
    for unit in (mart, prop):
        EarningRule.objects.get_or_create(business_unit=unit, defaults={"points_per_unit": 1})
    member = services.enrol_member(
        business_unit=mart,
        channel="store",
        identities=[IdentityInput("mobile", "13912348866")],
        attributes={"display_name": "林晓梅"},
    ).member
    for n, amount in enumerate((1280, 860, 420)):
        services.earn_points(
            member=member, business_unit=mart, reference=f"MART-{n}", amount=amount
        )
    services.apply_adjustment(
        member=member,
        business_unit=prop,
        points=300,
        reason="物业缴费活动赠送",
        actor=None,
        expires_at=timezone.now() + timedelta(days=12),
    )
    services.redeem_points(member=member, business_unit=prop, points=500, reference="PROP-R-1")
    return member


def test_find_enrol_adjust_and_read_the_ledger(page):
    from playwright.sync_api import expect

    load_platform_demo()
    member = _existing_member()

    sign_in(page, "service")
    page.goto("/members/")
    page.get_by_test_id("member-search").fill("8866")
    row = page.get_by_test_id("member-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(member.number)
    expect(page.get_by_test_id("member-phone").first).to_have_text("139****8866")
    shoot(page, "member-desk-search")

    row.get_by_role("link").first.click()
    expect(page.get_by_test_id("member-number")).to_have_text(member.number)
    expect(page.get_by_test_id("member-expiring")).to_have_text("300")
    expect(page.get_by_test_id("level-progress")).to_contain_text("银卡会员")
    expect(page.get_by_test_id("lot-row")).to_have_count(4)
    shoot(page, "member-desk-member")

    page.goto("/members/enrol/")
    page.locator("#id_phone").fill("13700001234")
    page.locator("#id_name").fill("赵雨桐")
    page.get_by_test_id("enrol-submit").click()
    expect(page.locator(".alert-success")).to_contain_text("入会成功")
    new = Member.objects.get(customer__display_name="赵雨桐")
    expect(page.get_by_test_id("member-number")).to_have_text(new.number)
    shoot(page, "member-desk-enrol")

    form = page.get_by_test_id("adjust-form")
    form.locator("#id_points").fill("200")
    form.locator("#id_reason").fill("开卡礼遇补发")
    page.get_by_test_id("adjust-submit").click()
    expect(page.locator(".alert-success")).to_contain_text("已调整 +200 积分")
    expect(page.get_by_test_id("member-balance")).to_have_text("200")
    adjusted = page.locator("[data-testid=ledger-row][data-kind=adjust]")
    expect(adjusted).to_contain_text("开卡礼遇补发")
    assert PointsEntry.objects.get(member=new, kind="adjust").reason == "开卡礼遇补发"

    page.goto(f"/members/{member.pk}/")
    page.get_by_test_id("ledger-kind").select_option("redeem")
    expect(page.get_by_test_id("ledger-row")).to_have_count(1)
    expect(page.get_by_test_id("ledger-row")).to_contain_text("PROP-R-1")
    shoot(page, "member-desk-ledger")


def test_dashboards_draw_their_charts(page):
    from playwright.sync_api import expect

    load_platform_demo()
    _existing_member()
    sign_in(page, "admin")
    page.goto("/members/dashboards/")
    for chart in ("by-level", "liability", "enrol-unit", "enrol-channel", "points", "flows"):
        expect(page.get_by_test_id(f"chart-{chart}").locator("svg")).to_have_count(1)
    expect(page.get_by_test_id("liability-table")).to_contain_text("MART")
    shoot(page, "member-desk-dashboards")
    page.goto("/members/statements/")
    expect(page.get_by_test_id("statement-row")).to_have_count(1)
    page.get_by_test_id("statement-row").get_by_role("link").click()
    expect(page.get_by_test_id("statement-total")).to_contain_text("5.00")
    shoot(page, "member-desk-statement")
