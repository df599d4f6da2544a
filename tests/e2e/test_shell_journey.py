"""First journey: sign in, switch language, search, sign out (screenshots under screenshots/)."""

from __future__ import annotations

import re

import pytest

from crm.demo import DEMO_PASSWORD, load_platform_demo
from tests.e2e.conftest import shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_in_switch_language_search_and_sign_out(page):
    from playwright.sync_api import expect

    load_platform_demo()

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page.get_by_test_id("login-submit")).to_have_text("登录")
    shoot(page, "login-zh")

    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("h2.page-title")).to_contain_text("仪表盘")
    expect(page.locator("[data-card=team] [_echarts_instance_] svg").first).to_be_visible()
    shoot(page, "dashboard-zh")

    page.get_by_test_id("lang-en").first.click()
    expect(page.locator("h2.page-title")).to_contain_text("Dashboard")
    shoot(page, "dashboard-en")

    search = page.get_by_test_id("global-search")
    search.fill("物业")
    result = page.locator("#search-dropdown [data-testid=search-result]").first
    expect(result).to_contain_text("星辰物业管理有限公司")
    shoot(page, "search-dropdown-en")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q="))
    page.locator(".page-body [data-testid=search-result]").first.click()
    expect(page).to_have_url(re.compile(r"/business-units/\d+/$"))
    expect(page.locator("body")).to_contain_text("PROP")
    shoot(page, "business-unit-en")

    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_test_id("login-submit")).to_be_visible()
