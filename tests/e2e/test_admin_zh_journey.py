"""Journey: an administrator reading the admin in Chinese (roles by name, the role filter,
a role's permissions), and the page a locked-out account sees."""

from __future__ import annotations

import pytest

from crm.demo import DEMO_PASSWORD, load_platform_demo
from tests.e2e.conftest import shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.get_by_test_id("login-submit").click()


def test_the_admin_names_roles_in_chinese(page):
    from playwright.sync_api import expect

    load_platform_demo()
    sign_in(page, "admin")
    page.goto("/admin/crm/user/")
    expect(page.locator("#changelist-filter")).to_contain_text("销售代表")
    expect(page.locator("#result_list")).to_contain_text("销售经理")
    expect(page.locator("#result_list")).not_to_contain_text("sales_manager")
    shoot(page, "admin-users-roles-zh")

    page.goto("/admin/crm/role/")
    expect(page.locator("#result_list")).to_contain_text("审计员")
    page.get_by_role("link", name="销售代表").click()
    expect(page.locator(".breadcrumbs")).to_contain_text("销售代表")
    expect(page.locator("#id_permissions_to")).to_contain_text("可以查看")
    shoot(page, "admin-role-zh")


def test_a_locked_out_account_reads_why_in_chinese(page, settings):
    from playwright.sync_api import expect

    load_platform_demo()
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(page, "rep", "wrong-password")
    expect(page.get_by_test_id("locked-out")).to_contain_text("登录失败次数过多")
    shoot(page, "locked-out-zh")


def test_the_admin_reads_and_edits_the_dealerships_routing_rules_in_chinese(page):
    from playwright.sync_api import expect

    from leads.demo import load_leads_demo

    load_platform_demo()
    load_leads_demo()
    sign_in(page, "admin")
    page.goto("/admin/leads/routingrule/")
    rows = page.locator("#result_list")
    expect(rows).to_contain_text("杭州汽车之家直派")
    expect(rows).to_contain_text("苏州, 无锡")
    expect(rows).to_contain_text("展会")
    expect(rows).to_contain_text("不限")
    shoot(page, "admin-routing-rules-zh")
    page.get_by_role("link", name="苏州无锡进华东组").click()
    page.fill("input[name=regions]", "苏州，无锡、常州")
    page.locator("input[name=_save]").click()
    expect(page.locator("#result_list")).to_contain_text("苏州, 无锡, 常州")
    page.goto("/admin/leads/routingrule/add/")
    page.fill("input[name=name]", "全部线索")
    page.locator("input[name=_save]").click()
    expect(page.locator(".errornote")).to_be_visible()
    shoot(page, "admin-routing-rule-refused-zh")


def test_the_routing_rules_rep_picker_lists_the_pools_reps_only(page):
    from playwright.sync_api import expect

    from leads.demo import load_leads_demo

    load_platform_demo()
    load_leads_demo()
    sign_in(page, "admin")
    page.goto("/admin/leads/routingrule/add/")
    page.locator(".field-rep .select2-selection").click()
    options = page.locator(".select2-results__option:not(.loading-results)")
    expect(options).to_have_text(["请先选择目标线索池。"])  # no pool chosen yet
    page.keyboard.press("Escape")
    page.goto("/admin/leads/routingrule/")
    page.get_by_role("link", name="杭州汽车之家直派").click()
    expect(page.locator(".field-rep .select2-selection")).to_contain_text("(rep)")  # kept
    page.locator(".field-rep .select2-selection").click()
    # the team pool's rep, not its manager nor the admin
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("(rep)")
    shoot(page, "admin-routing-rule-rep-picker-zh")
