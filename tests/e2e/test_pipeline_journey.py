"""Journey (zh-Hans): the sales rep opens the pipeline board, drags a card through two
stages (both columns' counts and sums follow), moves it once more from the keyboard with the
board's shared "move to" menu, drags another card to 输单 and gives the reason in the
dialog, then reads the stage history on the opportunity's page and the weighted forecast.
Screenshots: tests/e2e/screenshots/pipeline-*.png."""

from __future__ import annotations

from datetime import date

import pytest

from accounts import services
from accounts.models import Opportunity, OpportunityStage, OpportunityStageChange
from crm.demo import load_platform_demo
from crm.models import BusinessUnit, User
from tests.accounts.conftest import make_uscc
from tests.e2e.conftest import name_sources, shoot
from tests.e2e.test_jobs_and_keys_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def column(page, code: str):
    return page.locator(f"[data-testid=pipeline-column][data-stage-code={code}]")


def card(page, name: str):
    return page.locator("[data-testid=pipeline-card]", has_text=name)


def test_drag_through_two_stages_then_the_keyboard(page):
    from playwright.sync_api import expect

    load_platform_demo()
    name_sources()
    rep = User.objects.get(username="rep")
    unit = BusinessUnit.objects.get(code="AUTO")
    account = services.create_account(
        uscc=make_uscc(4242), name="星辰重工有限公司", user=rep, business_unit=unit
    ).account
    stages = {s.code: s for s in OpportunityStage.objects.all()}
    fleet = services.create_opportunity(
        account=account,
        name="车队采购",
        owner=rep,
        business_unit=unit,
        user=rep,
        amount="1200000",
        expected_close=date(2027, 3, 31),
    )
    for name, amount, stage in [
        ("产线改造", "880000", "proposal"),
        ("备件框架协议", "56000", "qualification"),
    ]:
        services.create_opportunity(
            account=account,
            name=name,
            owner=rep,
            business_unit=unit,
            user=rep,
            amount=amount,
            stage=stages[stage],
            expected_close=date(2027, 2, 28),
        )

    sign_in(page, "rep")
    page.set_viewport_size({"width": 1440, "height": 900})  # all six columns in view
    page.goto("/accounts/pipeline/")
    expect(column(page, "qualification").get_by_test_id("stage-count")).to_have_text("2")
    expect(column(page, "qualification").get_by_test_id("stage-amount")).to_have_text(
        "¥1,256,000.00"
    )
    shoot(page, "pipeline-board")

    card(page, "车队采购").drag_to(column(page, "needs_analysis"))
    expect(column(page, "needs_analysis").get_by_test_id("pipeline-card")).to_have_count(1)
    expect(column(page, "qualification").get_by_test_id("stage-count")).to_have_text("1")
    expect(column(page, "needs_analysis").get_by_test_id("stage-weighted")).to_have_text(
        "¥300,000.00"
    )
    expect(page.get_by_test_id("pipeline-done")).to_contain_text("车队采购")

    card(page, "车队采购").drag_to(column(page, "proposal"))
    expect(column(page, "proposal").get_by_test_id("stage-count")).to_have_text("2")
    expect(column(page, "proposal").get_by_test_id("stage-amount")).to_have_text("¥2,080,000.00")
    expect(column(page, "needs_analysis").get_by_test_id("stage-count")).to_have_text("0")
    shoot(page, "pipeline-dragged")

    # The keyboard alternative: Tab to the card's "移动…" link, Enter opens the board's one
    # move menu on its stage list; pick 商务谈判, Enter on 移动.
    card(page, "车队采购").get_by_test_id("card-move-open").focus()
    page.keyboard.press("Enter")
    menu = page.get_by_test_id("pipeline-move-menu")
    expect(menu).to_be_visible()
    expect(menu.get_by_test_id("card-move-name")).to_have_text("车队采购")
    expect(menu.get_by_test_id("card-move-stage")).to_be_focused()
    menu.get_by_test_id("card-move-stage").select_option(label="商务谈判")
    shoot(page, "pipeline-move-menu")
    menu.get_by_test_id("card-move-submit").focus()
    page.keyboard.press("Enter")
    expect(menu).to_be_hidden()
    expect(column(page, "negotiation").get_by_test_id("pipeline-card")).to_have_count(1)
    expect(column(page, "negotiation").get_by_test_id("stage-weighted")).to_have_text("¥900,000.00")
    expect(card(page, "车队采购").get_by_test_id("card-move-open")).to_be_focused()

    # Lost needs a reason: the dialog asks for it.
    card(page, "备件框架协议").drag_to(column(page, "lost"))
    dialog = page.get_by_test_id("pipeline-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("pipeline-error")).to_contain_text("请说明商机丢失的原因")
    dialog.get_by_test_id("lost-reason").fill("客户预算取消")
    shoot(page, "pipeline-lost-reason")
    dialog.get_by_test_id("lost-reason-submit").click()
    expect(dialog).to_be_hidden()
    expect(column(page, "lost").get_by_test_id("pipeline-card")).to_have_count(1)
    shoot(page, "pipeline-after-moves")

    history = list(
        OpportunityStageChange.objects.filter(opportunity=fleet).values_list(
            "to_stage__code", flat=True
        )
    )
    assert history == ["qualification", "needs_analysis", "proposal", "negotiation"]
    assert Opportunity.objects.get(name="备件框架协议").lost_reason == "客户预算取消"

    card(page, "车队采购").get_by_test_id("card-name").click()
    expect(page.get_by_test_id("stage-history-row")).to_have_count(4)
    expect(page.get_by_test_id("opportunity-stage")).to_have_text("商务谈判")
    shoot(page, "pipeline-opportunity")

    page.goto("/accounts/forecast/")
    expect(page.get_by_test_id("forecast-total-weighted")).to_have_text("¥1,340,000.00")
    page.wait_for_selector("[data-testid=forecast-chart] svg")
    shoot(page, "pipeline-forecast")
