"""Smoke journey (zh-Hans): the demo sales rep finds "My accounts" on the home page, opens the
account list, filters it, opens an account, edits a contact's roles inline (htmx) and sees the
group tree. Screenshots: tests/e2e/screenshots/accounts-list-zh.png, account-page-zh.png."""

from __future__ import annotations

import random

import pytest
from django.core.management import call_command

from accounts.models import Account, Contact
from crm.demo import load_platform_demo
from crm.demo_master import make_uscc
from crm.services import IdentityInput, resolve_customer
from tests.e2e.conftest import name_sources, shoot
from tests.e2e.test_jobs_and_keys_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_rep_works_the_account_list_and_page(page):
    from playwright.sync_api import expect

    load_platform_demo()
    name_sources()
    rng = random.Random(7)
    for n, name in enumerate(["星辰置业集团", "星辰物业服务", "东方物流", "海川制造", "南海商贸"]):
        resolve_customer(
            identities=[IdentityInput("uscc", make_uscc(rng))],
            attributes={"display_name": name, "kind": "organization"},
            source="pos",
        )
        assert n >= 0
    call_command("load_accounts_demo", verbosity=0)

    sign_in(page, "rep")
    card = page.locator("[data-card=my-accounts]")
    expect(card).to_contain_text("星辰置业集团")
    page.goto("/accounts/")
    expect(page.get_by_test_id("account-row")).to_have_count(5)
    page.get_by_test_id("filter-status").select_option("active")
    expect(page.get_by_test_id("account-row")).to_have_count(3)
    shoot(page, "accounts-list-zh")

    account = Account.objects.get(customer__display_name="星辰物业服务")
    page.goto(f"/accounts/{account.pk}/")
    expect(page.get_by_test_id("account-name")).to_contain_text("星辰物业服务")
    expect(page.get_by_test_id("tree-node")).to_have_count(2)
    contact = Contact.objects.filter(account=account, is_primary=True).get()
    row = page.locator(f"#contact-{contact.pk}")
    row.get_by_test_id("contact-edit").click()  # the editor replaces the row (htmx)
    expect(row.get_by_test_id("role-editor")).to_be_visible()
    row.get_by_label("决策者").check()
    row.get_by_test_id("roles-save").click()
    expect(page.locator(f"#contact-{contact.pk}").get_by_test_id("roles-saved")).to_be_visible()
    expect(page.locator(f"#contact-{contact.pk}").get_by_test_id("contact-roles")).to_contain_text(
        "决策者"
    )
    assert "decision_maker" in {r.code for r in Contact.objects.get(pk=contact.pk).roles.all()}
    shoot(page, "account-page-zh")
