"""Journey (zh-Hans): the sales manager proposes to blacklist a company from its 360 view;
the data steward finds the proposal on the home page, reads the evidence in the queue and
approves it; the sales rep then sees the red banner on the 360 view and the mark in the
customer list. Screenshots: tests/e2e/screenshots/blacklist-*.png."""

from __future__ import annotations

import pytest

from crm import services
from crm.demo import load_platform_demo
from crm.models import BlacklistEntry, BlacklistStatus
from crm.services import IdentityInput
from tests.e2e.conftest import name_sources, shoot
from tests.e2e.test_jobs_and_keys_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EVIDENCE = "伪造购销合同，(2026) 闽01民初123号判决"


def test_propose_approve_and_see_the_banner(page):
    from playwright.sync_api import expect

    load_platform_demo()
    name_sources()
    company = services.resolve_customer(
        identities=[IdentityInput("uscc", "91350100M000100Y43")],
        attributes={"display_name": "星辰贸易有限公司", "kind": "organization"},
        source="pos",
    ).customer

    sign_in(page, "manager")
    page.goto(f"/customers/{company.pk}/")
    page.get_by_test_id("blacklist-propose").click()
    page.get_by_test_id("blacklist-reason").select_option("fraud")
    page.get_by_test_id("blacklist-evidence-input").fill(EVIDENCE)
    page.get_by_test_id("blacklist-scope-input").fill("集团各事业部均不得赊销")
    shoot(page, "blacklist-propose")
    page.get_by_test_id("blacklist-propose-submit").click()
    expect(page.get_by_test_id("blacklist-proposed")).to_contain_text("等待审批")
    entry = BlacklistEntry.objects.get()
    assert entry.status == BlacklistStatus.PROPOSED

    page.context.clear_cookies()
    sign_in(page, "steward")
    card = page.locator("[data-card=blacklist-pending]")
    expect(card).to_contain_text("星辰贸易有限公司")
    page.goto("/blacklist/")
    expect(page.get_by_test_id("blacklist-evidence")).to_contain_text("闽01民初123号")
    page.get_by_test_id("blacklist-comment").fill("证据充分，同意")
    shoot(page, "blacklist-queue")
    page.get_by_test_id("blacklist-approve").click()
    expect(page.get_by_test_id("blacklist-done")).to_contain_text("已列入黑名单")
    expect(page.get_by_test_id("blacklist-status")).to_have_text("黑名单")
    entry.refresh_from_db()
    assert entry.status == BlacklistStatus.ACTIVE and entry.decided_by.username == "steward"

    page.context.clear_cookies()
    sign_in(page, "rep")
    page.goto(f"/customers/{company.pk}/")
    banner = page.get_by_test_id("blacklist-banner")
    expect(banner).to_contain_text("列入黑名单")
    expect(banner).to_contain_text("欺诈")
    expect(page.get_by_test_id("blacklist-evidence")).to_have_count(0)
    shoot(page, "blacklist-banner")
    page.goto("/customers/")
    expect(page.get_by_test_id("blacklist-mark")).to_have_count(1)
    shoot(page, "blacklist-list-mark")
