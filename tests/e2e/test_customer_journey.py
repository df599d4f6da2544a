"""Journey: member service finds a customer by a phone fragment, opens the 360 view, reviews
a duplicate candidate and merges it after confirming."""

from __future__ import annotations

import importlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from crm import services
from crm.demo import load_platform_demo
from crm.models import BusinessUnit, Merge
from crm.services import IdentityInput, TransactionInput
from tests.e2e.conftest import shoot
from tests.e2e.test_jobs_and_keys_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def arrange() -> None:
    load_platform_demo()
    seeds = importlib.import_module("crm.migrations.0012_source_systems_and_customer_notes")
    seeds.seed_sources(django_apps, None)  # what migrate seeded (this test flushes)
    units = {u.code: u for u in BusinessUnit.objects.all()}
    now = timezone.now()
    phone = [IdentityInput("mobile", "138 0013 8000")]
    services.ingest_transactions(
        business_unit=units["MART"],
        source="pos",
        rows=[
            TransactionInput(
                f"MART-{n}",
                now - timedelta(days=3 * n),
                Decimal(88 + n),
                "store",
                identities=phone,
                customer_attributes={"display_name": "王伟", "region": "上海"},
            )
            for n in range(8)
        ],
    )
    services.ingest_transactions(
        business_unit=units["PROP"],
        source="property_erp",
        rows=[
            TransactionInput(
                f"FEE-{n}", now - timedelta(days=30 * n), "680", "erp", identities=phone
            )
            for n in range(6)
        ],
    )
    services.ingest_transactions(  # a unit the desk does not see: never shown to it
        business_unit=units["AUTO"],
        source="dms",
        rows=[
            TransactionInput("CAR-1", now - timedelta(days=40), "238000", "store", identities=phone)
        ],
    )
    customer = services.resolve_customer(identities=phone, source="pos").customer
    services.record_consent(
        customer=customer, channel="sms", purpose="marketing", granted=True, source="门店登记"
    )
    # The same person registered again at the property desk with another phone that ends alike.
    services.resolve_customer(
        identities=[
            IdentityInput("mobile", "139 1111 8000"),
            IdentityInput("email", "wangwei@example.cn"),
        ],
        attributes={"display_name": "王 伟", "gender": "male"},
        source="property_desk",
    )
    services.find_duplicate_candidates()


def test_find_by_phone_fragment_open_360_review_and_merge(page):
    from playwright.sync_api import expect

    arrange()
    sign_in(page, "service")
    page.goto("/customers/")
    page.get_by_test_id("customer-search").fill("0013 8")
    expect(page.get_by_test_id("customer-row")).to_have_count(1)
    expect(page.get_by_test_id("customer-row")).to_contain_text("138****8000")
    shoot(page, "customer-search-zh")

    page.get_by_test_id("customer-row").get_by_role("link", name="王伟").click()
    expect(page.get_by_test_id("customer-name")).to_have_text("王伟")
    page.wait_for_load_state("load")
    expect(page.get_by_test_id("unit-row")).to_have_count(2)  # MART and PROP, not AUTO
    expect(page.get_by_test_id("unit-summary")).not_to_contain_text("238")
    expect(page.get_by_test_id("duplicate-alert")).to_be_visible()
    expect(page.get_by_test_id("header-phone")).to_have_text("138****8000")
    page.get_by_test_id("reveal-phone").click()
    expect(page.get_by_test_id("revealed-value")).to_have_text("138 0013 8000")
    shoot(page, "customer-360-zh")

    # A note, added without reloading the page, pinned above the timeline.
    page.evaluate("window.__still_here = true")
    page.get_by_test_id("note-text").fill("客户希望周末联系，工作日不接电话")
    page.locator("input[name=pinned]").check()
    page.get_by_test_id("note-submit").click()
    expect(page.get_by_test_id("pinned-note")).to_contain_text("周末联系")
    assert page.evaluate("window.__still_here") is True  # htmx swapped the tab in place
    expect(page.get_by_test_id("timeline")).to_contain_text("¥")  # purchases on the timeline

    # On a 360-px-wide phone, after revealing: nothing wider than the screen.
    page.set_viewport_size({"width": 360, "height": 740})
    page.reload()
    page.get_by_test_id("reveal-phone").click()
    expect(page.get_by_test_id("revealed-value")).to_have_text("138 0013 8000")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    box = page.get_by_test_id("reveal-phone").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    shoot(page, "customer-360-mobile-zh")
    # The transactions tab on the phone: date and amount in view without scrolling sideways.
    page.get_by_test_id("tab-transactions").click()
    expect(page.get_by_test_id("transaction-row").first).to_be_visible()
    for cell in ("transaction-when", "transaction-amount"):
        box = page.get_by_test_id(cell).first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, (cell, box)
    expect(page.get_by_test_id("transaction-amount").first).to_contain_text("¥")
    table = page.get_by_test_id("transaction-table")
    assert table.evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
    page.get_by_test_id("transaction-amount").first.scroll_into_view_if_needed()
    shoot(page, "customer-360-transactions-mobile-zh")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_test_id("duplicate-alert").get_by_role("link").click()
    expect(page.get_by_test_id("side")).to_have_count(2)
    shoot(page, "duplicate-review-zh")
    page.get_by_test_id("merge-reason").fill("同一人：电话回访确认")
    page.get_by_test_id("merge-submit").click()
    expect(page.get_by_test_id("confirm-modal")).to_be_visible()
    shoot(page, "merge-confirm-zh")
    page.get_by_test_id("confirm-yes").click()
    expect(page.get_by_test_id("merge-summary")).to_be_visible()
    shoot(page, "merge-summary-zh")

    merge = Merge.objects.get()
    assert merge.reason == "同一人：电话回访确认"
    assert merge.survivor.display_name == "王伟"
    page.get_by_test_id("open-survivor").click()
    expect(page.get_by_test_id("identities")).to_contain_text("w***@example.cn")
    expect(page.get_by_test_id("identities")).to_contain_text("139****8000")
    page.goto(f"/customers/{merge.loser_id}/")  # the old link leads to the survivor
    expect(page.get_by_test_id("customer-name")).to_have_text("王伟")
