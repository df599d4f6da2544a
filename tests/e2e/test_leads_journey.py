"""Journey (zh-Hans): a rep claims a lead from the public pool (公海), logs a follow-up from
the lead page (htmx), qualifies it and converts it into an account with its contact and an
opportunity; "my leads" shows the next follow-up and the recycling deadline. A manager
bulk-assigns a waiting lead to a rep after the confirmation page, reads the team board and
opens the funnel with channel ROI. Screenshots: tests/e2e/screenshots/leads-*.png."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Account, Contact, Opportunity
from crm.roles import SALES_MANAGER, SALES_REP
from leads.models import ChannelCost, Lead, LeadPool, LeadStatus
from tests.accounts.conftest import make_uscc
from tests.e2e.conftest import name_sources, shoot
from tests.factories import BusinessUnitFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def sign_in(page, username: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_test_id("login-submit").click()


def no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_rep_claims_follows_up_converts_and_manager_assigns(page):
    from playwright.sync_api import expect

    name_sources()
    unit = BusinessUnitFactory(code="AUTO", name="星辰汽车")
    rep = UserFactory(
        username="rep", first_name="小明", last_name="王", roles=[SALES_REP], units=[unit]
    )
    rep2 = UserFactory(
        username="rep2", first_name="小红", last_name="李", roles=[SALES_REP], units=[unit]
    )
    UserFactory(
        username="manager", first_name="经理", last_name="陈", roles=[SALES_MANAGER], units=[unit]
    )
    pool = LeadPool.objects.create(
        business_unit=unit, name="汽车公海", kind="public", hold_limit=50
    )
    target = Lead.objects.create(
        business_unit=unit,
        pool=pool,
        kind="company",
        company="星辰重工有限公司",
        name="张伟",
        title="采购经理",
        phone="+8613912345678",
        region="福州",
        industry="制造",
        source="trade_show",
        channel="车展",
        score=80,
    )
    Lead.objects.create(
        business_unit=unit,
        pool=pool,
        name="刘洋",
        phone="+8613987654321",
        region="厦门",
        source="ad",
        channel="百度",
        score=40,
    )
    waiting = Lead.objects.create(
        business_unit=unit,
        pool=pool,
        name="赵敏",
        phone="+8613911112222",
        region="泉州",
        source="ad",
        channel="百度",
        score=55,
    )
    ChannelCost.objects.create(
        business_unit=unit,
        source="ad",
        channel="百度",
        month=timezone.localdate().replace(day=1),
        amount=Decimal("6000"),
    )
    ChannelCost.objects.create(
        business_unit=unit,
        source="trade_show",
        channel="车展",
        month=timezone.localdate().replace(day=1),
        amount=Decimal("20000"),
    )

    # --- the rep: the pool, claim, follow up, qualify, convert ---
    sign_in(page, "rep")
    page.goto("/leads/pool/")
    expect(page.get_by_test_id("hold-count")).to_contain_text("0 / 50")
    expect(page.get_by_test_id("lead-row")).to_have_count(3)
    expect(page.get_by_test_id("pool-table")).to_contain_text("139****5678")
    page.get_by_test_id("filter-source").select_option("trade_show")
    expect(page.get_by_test_id("lead-row")).to_have_count(1)
    assert "source=trade_show" in page.url
    shoot(page, "leads-pool")
    no_horizontal_overflow(page)
    page.get_by_test_id("claim").click()
    expect(page.get_by_test_id("hold-count")).to_contain_text("1 / 50")
    expect(page.locator(".alert-success")).to_contain_text("星辰重工有限公司")
    assert Lead.objects.get(pk=target.pk).owner == rep

    page.goto(f"/leads/{target.pk}/")
    expect(page.get_by_test_id("recycle-due")).to_be_visible()
    page.get_by_test_id("follow-up-form").locator("select[name=kind]").select_option("visit")
    page.get_by_test_id("follow-up-form").locator("select[name=outcome]").select_option(
        "interested"
    )
    page.get_by_test_id("follow-up-form").locator("textarea[name=note]").fill(
        "上门拜访，对车队采购有兴趣，下周报价"
    )
    later = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_test_id("follow-up-form").locator("input[name=next_action_at]").fill(later)
    page.get_by_test_id("follow-up-submit").click()
    expect(page.locator(".alert-success")).to_contain_text("跟进记录已保存")
    expect(page.get_by_test_id("lead-status")).to_contain_text("已联系")
    expect(page.get_by_test_id("follow-up")).to_have_count(1)
    expect(page.get_by_test_id("follow-up")).to_contain_text("上门拜访")
    shoot(page, "leads-lead-followed-up")
    no_horizontal_overflow(page)

    page.goto("/leads/mine/")
    expect(page.get_by_test_id("my-row")).to_have_count(1)
    expect(page.get_by_test_id("my-recycle")).to_contain_text("天")
    page.get_by_test_id("quick-follow-up-open").click()
    expect(page.get_by_test_id("quick-follow-up-form")).to_be_visible()
    page.get_by_test_id("quick-follow-up-form").locator("input[name=note]").fill("电话确认报价时间")
    page.get_by_test_id("quick-follow-up-submit").click()
    expect(page.get_by_test_id("follow-up-saved")).to_be_visible()
    shoot(page, "leads-mine")
    no_horizontal_overflow(page)

    page.goto(f"/leads/{target.pk}/")
    page.get_by_test_id("lead-qualify").click()
    expect(page.get_by_test_id("lead-status")).to_contain_text("已确认意向")
    form = page.get_by_test_id("convert-form")
    form.locator("input[name=uscc]").fill(make_uscc(4242))
    form.locator("input[name=opportunity_name]").fill("车队采购 50 台")
    form.locator("input[name=amount]").fill("2500000")
    shoot(page, "leads-convert")
    page.get_by_test_id("convert-submit").click()
    expect(page.locator(".alert-success")).to_contain_text("已转化")
    account = Account.objects.get()
    assert page.url.endswith(f"/accounts/{account.pk}/")
    assert Contact.objects.filter(account=account).count() == 1
    assert Opportunity.objects.get(account=account).amount == Decimal("2500000")
    converted = Lead.objects.get(pk=target.pk)
    assert converted.status == LeadStatus.CONVERTED and converted.customer == account.customer
    page.context.clear_cookies()

    # --- the manager: bulk assign after confirmation, the board, the funnel ---
    sign_in(page, "manager")
    page.goto(f"/leads/pool/?pool={pool.pk}")
    row = page.get_by_test_id("lead-row").filter(has_text="赵敏")
    row.get_by_test_id("bulk-select").check()
    page.get_by_test_id("bulk-action").select_option("assign")
    page.get_by_test_id("bulk-rep").select_option(str(rep2.pk))
    page.get_by_test_id("bulk-apply").click()
    expect(page.get_by_test_id("bulk-confirm")).to_contain_text("赵敏")
    expect(page.get_by_test_id("bulk-question")).to_contain_text("李小红")
    shoot(page, "leads-assign-confirm")
    page.get_by_test_id("bulk-confirm-submit").click()
    expect(page.locator(".alert-success")).to_contain_text("李小红")
    assert Lead.objects.get(pk=waiting.pk).owner == rep2

    page.goto("/leads/team/?by=rep")
    expect(page.get_by_test_id("board-rep-row")).to_have_count(2)
    shoot(page, "leads-team-board")
    no_horizontal_overflow(page)

    page.goto("/leads/funnel/")
    expect(page.get_by_test_id("channel-row")).to_have_count(2)
    expect(page.locator("[data-testid=chart-funnel] svg")).to_be_visible()
    expect(page.locator("[data-testid=chart-channels] svg")).to_be_visible()
    show = page.get_by_test_id("channel-row").filter(has_text="车展")
    expect(show.get_by_test_id("cost-per-conversion")).to_contain_text("20,000.00")
    shoot(page, "leads-funnel")
    no_horizontal_overflow(page)
