"""Journey (zh-Hans): the sales rep finds a credit review due on the home page, opens the
account's credit section, first forgets the source (the error shows in place), then records a
litigation record and watches the score, rating and chart change; the limit reads 0 once the
company is blacklisted. Screenshots: tests/e2e/screenshots/credit-*.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import CreditProfile
from crm import services as crm_services
from crm.demo import load_platform_demo
from crm.models import BusinessUnit, User
from tests.accounts.conftest import make_uscc
from tests.e2e.conftest import name_sources, shoot
from tests.e2e.test_jobs_and_keys_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_review_due_then_record_evidence_and_watch_the_rating(page):
    from playwright.sync_api import expect

    load_platform_demo()
    name_sources()
    rep = User.objects.get(username="rep")
    account = services.create_account(
        uscc=make_uscc(31),
        name="星辰物流有限公司",
        user=rep,
        business_unit=BusinessUnit.objects.get(code="AUTO"),
        owner=rep,
    ).account
    today = timezone.localdate()
    for kind, days in (("credit_report", 200), ("operations", 100)):  # 50 + 15 + 10 = 75: A
        services.add_credit_evidence(
            account=account,
            user=rep,
            kind=kind,
            effect="positive",
            source="人行征信报告",
            observed_on=today - timedelta(days=days),
        )
    CreditProfile.objects.update(next_review_on=today - timedelta(days=2))
    services.flag_due_credit_reviews()

    sign_in(page, "rep")
    card = page.locator("[data-card=credit-reviews-due]")
    expect(card).to_contain_text("星辰物流有限公司")
    shoot(page, "credit-home-card")
    card.get_by_text("星辰物流有限公司").click()
    expect(page.get_by_test_id("credit-rating")).to_have_text("A")
    expect(page.get_by_test_id("credit-review-due")).to_be_visible()

    page.get_by_test_id("credit-kind").select_option("litigation")
    page.get_by_test_id("credit-effect").select_option("negative")
    page.get_by_test_id("credit-observed").fill(today.isoformat())
    page.get_by_test_id("credit-source").evaluate("el => el.removeAttribute('required')")
    page.get_by_test_id("credit-evidence-submit").click()
    expect(page.get_by_test_id("credit-source-error")).to_be_visible()

    page.get_by_test_id("credit-source").fill("中国执行信息公开网")
    page.get_by_test_id("credit-value").fill("被执行人 1 条")
    page.get_by_test_id("credit-evidence-submit").click()
    expect(page.get_by_test_id("credit-saved")).to_be_visible()
    expect(page.get_by_test_id("credit-rating")).to_have_text("BB")  # 75 − 25 = 50
    expect(page.get_by_test_id("credit-limit")).to_contain_text("300,000.00")
    expect(page.get_by_test_id("credit-review-due")).to_have_count(0)
    expect(page.locator("[data-credit-chart] svg")).to_have_count(1)
    shoot(page, "credit-section")

    manager = User.objects.get(username="manager")
    steward = User.objects.get(username="steward")
    entry = crm_services.propose_blacklisting(
        customer=account.customer, user=manager, reason="unpaid_debts", evidence="欠款未还"
    )
    crm_services.approve_blacklisting(entry=entry, user=steward)
    page.reload()
    expect(page.get_by_test_id("credit-blacklisted")).to_be_visible()
    expect(page.get_by_test_id("credit-limit")).to_contain_text("0.00")
    shoot(page, "credit-blacklisted")
