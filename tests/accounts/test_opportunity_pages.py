"""An opportunity's page (fields, contacts in roles, stage history, the move form, editing),
the create form reachable from the board, and the reps' "closing soon" home card."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Opportunity
from crm.roles import MEMBER_SERVICE
from tests.accounts.conftest import phone
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account_with_contacts(make_account, rep_a, roles):
    account = make_account("星辰重工有限公司")
    li = services.add_contact(
        account=account,
        identities=phone(1),
        name="李娜",
        user=rep_a,
        roles=[roles["decision_maker"]],
        title="总经理",
    )
    wang = services.add_contact(
        account=account,
        identities=phone(2),
        name="王强",
        user=rep_a,
        roles=[roles["purchaser"], roles["finance"]],
    )
    return account, li, wang


def test_create_from_the_board_with_contacts_in_their_roles(
    client, rep_a, unit_a, stages, account_with_contacts
):
    account, li, wang = account_with_contacts
    client.force_login(rep_a)
    board = client.get(reverse("accounts:pipeline")).content.decode()
    assert reverse("accounts:opportunity-create") in board
    found = client.get(reverse("accounts:opportunity-create"), {"q": "重工"}).content.decode()
    assert "星辰重工有限公司" in found
    form = client.get(reverse("accounts:opportunity-create"), {"account": account.pk})
    assert "李娜" in form.content.decode() and "王强" in form.content.decode()
    response = client.post(
        reverse("accounts:opportunity-create"),
        {
            "account": account.pk,
            "name": "产线改造",
            "business_unit": unit_a.pk,
            "stage": stages["needs_analysis"].pk,
            "amount": "880000",
            "currency": "CNY",
            "expected_close": "2027-03-31",
            "contacts": [li.pk, wang.pk],
        },
    )
    opportunity = Opportunity.objects.get(name="产线改造")
    assert response.status_code == 302
    assert response.url == reverse("accounts:opportunity-detail", args=[opportunity.pk])
    assert opportunity.owner == rep_a and opportunity.stage == stages["needs_analysis"]
    page = client.get(response.url).content.decode()
    assert "¥880,000.00" in page and "总经理" in page
    assert "决策者" in page and "采购" in page
    assert page.count('data-testid="stage-history-row"') == 1


def test_create_refuses_bad_input_with_messages(client, rep_a, unit_a, stages, make_account):
    account = make_account()
    client.force_login(rep_a)
    response = client.post(
        reverse("accounts:opportunity-create"),
        {
            "account": account.pk,
            "name": " ",
            "business_unit": unit_a.pk,
            "stage": stages["qualification"].pk,
            "amount": "-5",
            "currency": "CNY",
        },
    )
    assert response.status_code == 422 and not Opportunity.objects.exists()
    assert 'class="invalid-feedback' in response.content.decode()


def test_detail_history_move_with_reason_and_edit(client, rep_a, unit_a, stages, make_account):
    opportunity = services.create_opportunity(
        account=make_account(),
        name="车队采购",
        owner=rep_a,
        business_unit=unit_a,
        user=rep_a,
        amount="1200000",
        expected_close=date(2027, 3, 31),
    )
    url = reverse("accounts:opportunity-detail", args=[opportunity.pk])
    move = reverse("accounts:opportunity-move", args=[opportunity.pk])
    client.force_login(rep_a)
    assert client.post(move, {"stage": stages["proposal"].pk, "next": url}).url == url
    refused = client.post(move, {"stage": stages["lost"].pk, "next": url})
    assert refused.status_code == 422 and "请说明商机丢失的原因" in refused.content.decode()
    client.post(move, {"stage": stages["lost"].pk, "lost_reason": "预算取消", "next": url})
    assert client.post(
        move, {"stage": stages["won"].pk, "next": "https://evil.example/"}
    ).url.startswith(reverse("accounts:pipeline"))
    page = client.get(url).content.decode()
    assert page.count('data-testid="stage-history-row"') == 4 and "预算取消" in page
    assert 'value="2027-03-31"' in page  # the date input shows the date it will save
    saved = client.post(
        url, {"name": "车队采购二期", "amount": "1300000", "currency": "CNY", "expected_close": ""}
    )
    assert saved.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.name == "车队采购二期" and opportunity.amount == 1300000


def test_detail_read_only_for_those_who_may_not_change(client, unit_a, rep_a, make_account, stages):
    opportunity = services.create_opportunity(
        account=make_account(), name="车队采购", owner=rep_a, business_unit=unit_a, user=rep_a
    )
    url = reverse("accounts:opportunity-detail", args=[opportunity.pk])
    steward = UserFactory(roles=["data_steward"], units=[unit_a])
    client.force_login(steward)
    page = client.get(url).content.decode()
    assert "车队采购" in page and 'data-testid="detail-move-form"' not in page
    assert client.post(url, {"name": "x", "amount": "1", "currency": "CNY"}).status_code == 403
    client.force_login(UserFactory(roles=[MEMBER_SERVICE], units=[unit_a]))
    assert client.get(url).status_code == 403


def test_home_card_lists_my_opportunities_closing_soon(client, rep_a, unit_a, make_account, stages):
    today = timezone.localdate()
    account = make_account()
    for name, days, stage in [
        ("下周成交", 7, "proposal"),
        ("已逾期商机", -3, "negotiation"),
        ("明年成交", 400, "proposal"),
        ("已赢单", 2, "won"),
    ]:
        services.create_opportunity(
            account=account,
            name=name,
            owner=rep_a,
            business_unit=unit_a,
            user=rep_a,
            stage=stages[stage],
            expected_close=today + timedelta(days=days),
        )
    client.force_login(rep_a)
    html = client.get(reverse("home")).content.decode()
    card = html[html.index('data-card="opportunities-closing-soon"') :]
    assert "我即将成交的进行中商机" in html
    assert card.index("已逾期商机") < card.index("下周成交")
    assert "明年成交" not in html and "已赢单" not in html
    for n in range(6):
        services.create_opportunity(
            account=account,
            name=f"本周{n}",
            owner=rep_a,
            business_unit=unit_a,
            user=rep_a,
            stage=stages["proposal"],
            expected_close=today + timedelta(days=1),
        )
    html = client.get(reverse("home")).content.decode()
    card = html[html.index('data-card="opportunities-closing-soon"') :]
    assert card.count('data-testid="work-item"', 0, card.index("work-total")) == 5
    total = card[card.index('data-testid="work-total"') :]
    assert total[: total.index("</span>")].endswith("共 8 项")
    nav = html[html.index('data-testid="nav"') :]
    assert reverse("accounts:pipeline") in nav
