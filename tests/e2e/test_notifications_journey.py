"""Notifications: the bell in the top bar counts the unread ones; the page lists them (newest
first), opens one where it links, marks them read; in Chinese and English (screenshots)."""

from __future__ import annotations

import re

import pytest

from crm.demo import DEMO_PASSWORD, load_platform_demo
from tests.e2e.conftest import shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_bell_page_open_and_mark_read(page):
    from django.utils.translation import gettext as _
    from playwright.sync_api import expect

    from crm import services
    from crm.models import User

    load_platform_demo()
    admin = User.objects.get(username="admin")
    services.notify(
        admin,
        "campaigns.rule_budget_exhausted",
        title=lambda: _("Trigger rule “%(rule)s” stopped: its budget is exhausted")
        % {"rule": "买车送物业费"},
        link="/jobs/",
    )
    services.notify(
        admin,
        "campaigns.template_stock_exhausted",
        title=lambda: _("Coupon template “%(name)s” is out of stock")
        % {"name": "物业费抵扣券 200 元"},
        body="2026-12-07 09:30",
    )

    page.goto("/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("notification-count")).to_have_text("2")

    page.get_by_test_id("notification-bell").click()
    expect(page).to_have_url(re.compile(r"/notifications/$"))
    expect(page.locator("h2.page-title")).to_contain_text("通知")
    titles = page.get_by_test_id("notification-title")
    expect(titles.first).to_contain_text("优惠券模板“物业费抵扣券 200 元”库存已用完")
    expect(titles.nth(1)).to_contain_text("触发规则“买车送物业费”已停止：预算已用完")
    shoot(page, "notifications-zh")

    titles.nth(1).click()  # the rule's notification opens where it links, read
    expect(page).to_have_url(re.compile(r"/jobs/$"))
    expect(page.get_by_test_id("notification-count")).to_have_text("1")

    page.get_by_test_id("notification-bell").click()
    page.get_by_test_id("notifications-read-all").click()
    expect(page.get_by_test_id("notification-count")).to_have_count(0)
    page.get_by_test_id("notifications-unread-filter").click()
    expect(page.get_by_test_id("empty-state")).to_contain_text("没有未读通知")
    shoot(page, "notifications-all-read-zh")

    page.get_by_test_id("lang-en").first.click()
    expect(page.get_by_test_id("empty-state")).to_contain_text("Nothing unread")
    page.goto("/notifications/")
    expect(page.locator("[data-testid=notification][data-read=yes]")).to_have_count(2)
    shoot(page, "notifications-en")
