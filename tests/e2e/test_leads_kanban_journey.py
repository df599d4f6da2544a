"""Journey (zh-Hans): a rep opens "my leads" as a board (a column per status), drags a card
from 已分配 to 已联系 (both columns' counts follow), tries an illegal move back (refused with
the service's message, nothing moves), drags a qualified lead to 已流失 and gives the reason
in the board's dialog (the hold count follows), then moves a card from the keyboard with the
board's "move to" menu. The same script as the accounts' pipeline board (pipeline.js).
Screenshots: tests/e2e/screenshots/leads-kanban-*.png."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from crm.roles import SALES_REP
from leads import services
from leads.models import Lead, LeadEvent, LeadPool, LeadStatus
from tests.e2e.conftest import name_sources, shoot
from tests.e2e.test_leads_journey import no_horizontal_overflow, sign_in
from tests.factories import BusinessUnitFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def column(page, status: str):
    return page.locator(f"[data-testid=pipeline-column][data-stage-code={status}]")


def card(page, name: str):
    return page.locator("[data-testid=pipeline-card]", has_text=name)


def test_rep_drags_leads_across_the_board(page):
    from playwright.sync_api import expect

    name_sources()
    unit = BusinessUnitFactory(code="AUTO", name="星辰汽车")
    rep = UserFactory(
        username="rep", first_name="小明", last_name="王", roles=[SALES_REP], units=[unit]
    )
    other = UserFactory(username="rep2", roles=[SALES_REP], units=[unit])
    pool = LeadPool.objects.create(
        business_unit=unit, name="汽车公海", kind="public", hold_limit=50
    )
    leads = {}
    for name, company, phone in [
        ("韩梅梅", "星辰重工有限公司", "+8613912345678"),
        ("李雷", "海峡物流有限公司", "+8613812345678"),
        ("王芳", "", "+8613712345678"),
        ("赵强", "福州精密机械有限公司", "+8613612345678"),
    ]:
        lead = Lead.objects.create(
            business_unit=unit, pool=pool, name=name, company=company, phone=phone
        )
        services.claim_lead(lead=lead.pk, user=rep)
        leads[name] = lead
    tomorrow = timezone.now() + timedelta(days=1)
    services.log_follow_up(lead=leads["李雷"].pk, user=rep, kind="call", next_action_at=tomorrow)
    services.log_follow_up(lead=leads["王芳"].pk, user=rep, kind="visit")
    services.qualify_lead(lead=leads["王芳"].pk, user=rep)
    theirs = Lead.objects.create(
        business_unit=unit, pool=pool, name="别人的线索", phone="+8613512345678"
    )
    services.claim_lead(lead=theirs.pk, user=other)

    sign_in(page, "rep")
    page.goto("/leads/mine/")
    page.get_by_test_id("mine-board").click()
    expect(page).to_have_url(re.compile(r"/leads/mine/board/$"))
    expect(page.get_by_test_id("pipeline-board")).to_be_visible()
    expect(column(page, "assigned").get_by_test_id("stage-count")).to_have_text("2")
    expect(column(page, "contacted").get_by_test_id("stage-count")).to_have_text("1")
    expect(column(page, "qualified").get_by_test_id("stage-count")).to_have_text("1")
    expect(page.get_by_test_id("hold-count")).to_contain_text("4")
    expect(card(page, "韩梅梅")).to_contain_text("139****5678")
    expect(page.locator("body")).not_to_contain_text("别人的线索")

    # Drag: 已分配 → 已联系; both columns are re-rendered with their counts.
    card(page, "韩梅梅").drag_to(column(page, "contacted"))
    expect(column(page, "contacted").get_by_test_id("pipeline-card")).to_have_count(2)
    expect(column(page, "assigned").get_by_test_id("stage-count")).to_have_text("1")
    expect(page.get_by_test_id("pipeline-done")).to_contain_text("韩梅梅")

    # An illegal move (已联系 → 已分配): the service's message, nothing moves.
    card(page, "李雷").drag_to(column(page, "assigned"))
    expect(page.get_by_test_id("pipeline-error")).to_contain_text("请使用")
    expect(column(page, "contacted").get_by_test_id("pipeline-card")).to_have_count(2)
    expect(column(page, "assigned").get_by_test_id("stage-count")).to_have_text("1")
    no_horizontal_overflow(page)
    shoot(page, "leads-kanban-zh")

    # Lost needs a reason: the dialog asks for it; the hold count follows.
    card(page, "王芳").drag_to(column(page, "lost"))
    dialog = page.get_by_test_id("pipeline-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("pipeline-error")).to_be_visible()
    dialog.locator("select[name=reason]").select_option("budget")
    dialog.locator("input[name=note]").fill("客户今年无预算")
    shoot(page, "leads-kanban-lost-zh")
    dialog.get_by_test_id("lost-reason-submit").click()
    expect(dialog).to_be_hidden()
    expect(column(page, "qualified").get_by_test_id("stage-count")).to_have_text("0")
    expect(page.get_by_test_id("hold-count")).to_contain_text("3")

    # The keyboard way: Tab to the card's "移动…" link, Enter, pick 已确认意向, Enter.
    card(page, "赵强").get_by_test_id("card-move-open").focus()
    page.keyboard.press("Enter")
    menu = page.get_by_test_id("pipeline-move-menu")
    expect(menu).to_be_visible()
    expect(menu.get_by_test_id("card-move-name")).to_have_text("赵强")
    menu.get_by_test_id("card-move-stage").select_option("qualified")
    menu.get_by_test_id("card-move-submit").focus()
    page.keyboard.press("Enter")
    expect(menu).to_be_hidden()
    expect(column(page, "qualified").get_by_test_id("pipeline-card")).to_have_count(1)
    expect(card(page, "赵强").get_by_test_id("card-move-open")).to_be_focused()
    expect(card(page, "赵强").get_by_test_id("card-convert")).to_be_visible()

    statuses = dict(Lead.objects.filter(owner=rep).values_list("name", "status"))
    assert statuses == {
        "韩梅梅": LeadStatus.CONTACTED,
        "李雷": LeadStatus.CONTACTED,
        "王芳": LeadStatus.LOST,
        "赵强": LeadStatus.QUALIFIED,
    }
    assert Lead.objects.get(name="王芳").lost_reason == "budget"
    assert LeadEvent.objects.filter(lead=leads["韩梅梅"], kind="status").count() == 1
    assert not LeadEvent.objects.filter(lead=leads["李雷"], kind="status").exists()
