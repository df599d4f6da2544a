"""One continuous journey (zh-Hans), everything through the screens: the sales rep creates an
account from its USCC, adds two contacts in roles in two departments, opens an opportunity
from the account page and drags it through two stages of the board, records positive then
negative credit evidence and watches the rating change; the sales manager proposes to
blacklist the company from its 360 view, the data steward approves it, and the account page
shows the banner and a credit limit of ¥0.00. Only the demo users and units are arranged
outside the browser. Screenshots: tests/e2e/screenshots/accounts-journey-*.png."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Account, Contact, Opportunity
from crm.demo import load_platform_demo
from crm.models import BlacklistEntry, BlacklistStatus
from tests.accounts.conftest import make_uscc
from tests.e2e.conftest import name_sources, shoot
from tests.e2e.test_jobs_and_keys_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COMPANY = "星河精密机械有限公司"


def column(page, code: str):
    return page.locator(f"[data-testid=pipeline-column][data-stage-code={code}]")


def add_contact(page, name: str, mobile: str, title: str, department: str, role: str) -> None:
    form = page.get_by_test_id("contact-form")
    if not form.is_visible():
        page.get_by_test_id("add-contact").locator("summary").click()
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=mobile]").fill(mobile)
    form.locator("input[name=title]").fill(title)
    form.locator("input[name=department]").fill(department)
    form.get_by_label(role, exact=True).check()
    form.get_by_test_id("contact-submit").click()


def record_evidence(page, kind: str, effect: str, source: str, value: str) -> None:
    page.get_by_test_id("credit-kind").select_option(kind)
    page.get_by_test_id("credit-effect").select_option(effect)
    page.get_by_test_id("credit-observed").fill(timezone.localdate().isoformat())
    page.get_by_test_id("credit-source").fill(source)
    page.get_by_test_id("credit-value").fill(value)
    page.get_by_test_id("credit-evidence-submit").click()


def test_account_to_blacklist_through_the_screens(page):
    from playwright.sync_api import expect

    load_platform_demo()
    name_sources()
    uscc = make_uscc(880017)

    # 1. The rep creates the account and adds two contacts in roles, in two departments.
    sign_in(page, "rep")
    page.goto("/accounts/new/")
    form = page.get_by_test_id("account-create-form")
    form.locator("input[name=uscc]").fill(uscc)
    form.locator("input[name=name]").fill(COMPANY)
    form.locator("select[name=status]").select_option("prospect")
    form.locator("input[name=province]").fill("江苏省")
    form.locator("input[name=city]").fill("苏州市")
    form.get_by_test_id("account-create-submit").click()
    expect(page.get_by_test_id("account-name")).to_contain_text(COMPANY)
    expect(page.get_by_test_id("account-uscc")).to_have_text(uscc)
    account = Account.objects.get(customer__display_name=COMPANY)
    assert page.url.rstrip("/").endswith(f"/accounts/{account.pk}")

    add_contact(page, "周海峰", "13912345601", "总经理", "总经办", "决策者")
    expect(page.get_by_test_id("contact-row")).to_have_count(1)
    add_contact(page, "吴晓梅", "13912345602", "采购经理", "采购部", "采购")
    expect(page.get_by_test_id("contact-row")).to_have_count(2)
    # each department heading with its count of contacts
    expect(page.get_by_test_id("department")).to_have_text(["总经办 1", "采购部 1"])
    boss = page.get_by_test_id("contact-row").filter(has_text="周海峰")
    buyer = page.get_by_test_id("contact-row").filter(has_text="吴晓梅")
    expect(boss.get_by_test_id("role-badge")).to_have_text(["决策者"])
    expect(buyer.get_by_test_id("role-badge")).to_have_text(["采购"])
    roles = {
        c.person.display_name: sorted(r.code for r in c.roles.all())
        for c in Contact.objects.filter(account=account).select_related("person")
    }
    assert roles == {"周海峰": ["decision_maker"], "吴晓梅": ["purchaser"]}
    shoot(page, "accounts-journey-contacts")

    # 2. An opportunity from the account page, then two stages on the board.
    page.get_by_role("link", name="新建商机").click()
    form = page.get_by_test_id("opportunity-create-form")
    expect(form.locator("select[name=account]")).to_have_value(str(account.pk))
    form.locator("input[name=name]").fill("数控机床年度采购")
    form.locator("select[name=business_unit]").select_option(index=1)  # the rep's one: AUTO
    form.locator("input[name=amount]").fill("2400000")
    form.locator("input[name=expected_close]").fill("2027-06-30")
    form.get_by_label("吴晓梅", exact=False).check()
    form.get_by_test_id("opportunity-create-submit").click()
    expect(page.get_by_test_id("opportunity-stage")).to_have_text("线索确认")
    opportunity = Opportunity.objects.get(account=account)
    assert opportunity.business_unit.code == "AUTO" and opportunity.owner.username == "rep"
    assert [i.contact.person.display_name for i in opportunity.involved.all()] == ["吴晓梅"]

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/accounts/pipeline/")
    card = page.locator("[data-testid=pipeline-card]", has_text="数控机床年度采购")
    qualification, needs, proposal = (
        column(page, c) for c in ("qualification", "needs_analysis", "proposal")
    )
    expect(qualification.get_by_test_id("stage-count")).to_have_text("1")
    expect(qualification.get_by_test_id("stage-amount")).to_have_text("¥2,400,000.00")
    expect(proposal.get_by_test_id("stage-amount")).to_have_text("¥0.00")
    card.drag_to(needs)
    expect(needs.get_by_test_id("pipeline-card")).to_have_count(1)
    expect(needs.get_by_test_id("stage-weighted")).to_have_text("¥600,000.00")
    expect(qualification.get_by_test_id("stage-count")).to_have_text("0")
    card.drag_to(proposal)
    expect(proposal.get_by_test_id("stage-count")).to_have_text("1")
    expect(proposal.get_by_test_id("stage-amount")).to_have_text("¥2,400,000.00")
    expect(proposal.get_by_test_id("stage-weighted")).to_have_text("¥1,200,000.00")
    expect(needs.get_by_test_id("stage-count")).to_have_text("0")
    expect(qualification.get_by_test_id("stage-amount")).to_have_text("¥0.00")
    opportunity.refresh_from_db()
    assert opportunity.stage.code == "proposal"
    shoot(page, "accounts-journey-pipeline")

    # 3. Credit evidence on the account page: a rating appears, then changes.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/accounts/{account.pk}/")
    expect(page.get_by_test_id("account-credit")).to_contain_text("未评级")
    expect(page.get_by_test_id("credit-rating")).to_have_count(0)
    record_evidence(page, "credit_report", "positive", "人行征信报告", "无逾期记录")
    expect(page.get_by_test_id("credit-saved")).to_be_visible()
    rating = page.get_by_test_id("credit-rating")
    expect(rating).to_have_text("BBB")  # 50 + 15 = 65
    expect(page.get_by_test_id("credit-limit")).to_have_text("¥600,000.00")
    before = rating.inner_text()
    record_evidence(page, "litigation", "negative", "中国执行信息公开网", "被执行人 1 条")
    expect(page.get_by_test_id("credit-evidence-row")).to_have_count(2)
    expect(rating).to_have_text("B")  # 65 − 25 = 40
    after = rating.inner_text()
    assert (before, after) == ("BBB", "B")
    expect(page.get_by_test_id("credit-limit")).to_have_text("¥100,000.00")
    page.reload()
    expect(page.get_by_test_id("account-credit")).to_contain_text("B")
    expect(page.get_by_test_id("account-credit")).to_contain_text("¥100,000.00")
    expect(page.locator("#customer-tab")).to_contain_text("信用评级 BBB → B")
    shoot(page, "accounts-journey-credit")

    # 4. The manager proposes the blacklisting, the steward approves it.
    page.context.clear_cookies()
    sign_in(page, "manager")
    page.goto(f"/accounts/{account.pk}/")
    page.get_by_test_id("open-360").click()
    page.get_by_test_id("blacklist-propose").click()
    page.get_by_test_id("blacklist-reason").select_option("unpaid_debts")
    page.get_by_test_id("blacklist-evidence-input").fill("拖欠货款 86 万元逾期 180 天，法院已立案")
    page.get_by_test_id("blacklist-propose-submit").click()
    expect(page.get_by_test_id("blacklist-proposed")).to_contain_text("等待审批")
    entry = BlacklistEntry.objects.get()
    assert entry.status == BlacklistStatus.PROPOSED and entry.customer_id == account.customer_id

    page.context.clear_cookies()
    sign_in(page, "steward")
    page.goto("/blacklist/")
    expect(page.get_by_test_id("blacklist-evidence")).to_contain_text("拖欠货款")
    page.get_by_test_id("blacklist-comment").fill("证据充分，同意")
    page.get_by_test_id("blacklist-approve").click()
    expect(page.get_by_test_id("blacklist-done")).to_contain_text("已列入黑名单")
    entry.refresh_from_db()
    assert entry.status == BlacklistStatus.ACTIVE and entry.decided_by.username == "steward"

    page.goto(f"/accounts/{account.pk}/")
    expect(page.get_by_test_id("blacklist-banner")).to_contain_text("列入黑名单")
    expect(page.get_by_test_id("account-credit")).to_contain_text("¥0.00")
    expect(page.get_by_test_id("credit-blacklisted")).to_be_visible()
    expect(page.get_by_test_id("credit-limit")).to_have_text("¥0.00")
    shoot(page, "accounts-journey-blacklisted")
