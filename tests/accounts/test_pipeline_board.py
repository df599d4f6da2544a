"""The pipeline board: columns with their sums, moving a card by drag and drop (an htmx POST
answered with both columns out of band) or by the card's plain form, a lost reason asked
for, scoping (404), permissions (403), pinned query counts; the opportunity page and form."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Opportunity, OpportunityStage, OpportunityStageChange
from crm.roles import MEMBER_SERVICE
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BOARD = reverse("accounts:pipeline")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def opp(make_account, rep_a, unit_a) -> Callable[..., Opportunity]:
    account = make_account()

    def make(amount: str = "1000", stage: OpportunityStage | None = None, **kw) -> Opportunity:
        return services.create_opportunity(
            account=kw.pop("account", account),
            name=kw.pop("name", f"商机{amount}"),
            owner=kw.pop("owner", rep_a),
            business_unit=kw.pop("unit", unit_a),
            user=rep_a,
            amount=amount,
            stage=stage,
            **kw,
        )

    return make


def move_url(o: Opportunity, query: str = "") -> str:
    return reverse("accounts:opportunity-move", args=[o.pk]) + (f"?{query}" if query else "")


def test_board_columns_show_cards_and_per_stage_sums(client, rep_a, opp, stages):
    opp("1000", stages["qualification"])
    opp("3000", stages["qualification"])
    opp("2000", stages["proposal"], name="车队采购")
    opp("99", stages["proposal"], currency="USD")  # another currency: not in the CNY sums
    client.force_login(rep_a)
    html = client.get(BOARD).content.decode()
    codes = [s.code for s in OpportunityStage.objects.filter(is_active=True)]
    positions = [html.index(f'data-stage-code="{c}"') for c in codes]
    assert positions == sorted(positions)  # columns in stage order
    assert "车队采购" in html and "¥2,000.00" in html
    qualification = html[positions[0] : positions[1]]
    assert "¥4,000.00" in qualification and "¥400.00" in qualification  # Σ and Σ × 10 %
    proposal = html[html.index('data-stage-code="proposal"') :]
    assert "¥1,000.00" in proposal[: proposal.index("</header>")]  # 2000 × 50 %
    assert "US$99.00" not in html
    assert 'draggable="true"' in html and 'data-testid="card-move-form"' in html


def test_board_query_count_does_not_grow_with_the_cards(
    client, manager_a, opp, stages, django_assert_num_queries
):
    def add(n: int) -> None:
        for stage in ("qualification", "proposal", "won"):
            for i in range(n):
                opp(str(100 + i), stages[stage])

    add(3)
    client.force_login(manager_a)
    client.get(BOARD)
    with django_assert_num_queries(7) as captured:
        assert client.get(BOARD).status_code == 200
    before = len(captured.captured_queries)
    add(27)
    with django_assert_num_queries(before):
        html = client.get(BOARD).content.decode()
    assert html.count('data-testid="pipeline-card"') == 90


def test_columns_are_limited_with_a_more_link_paging_by_keyset(
    client, rep_a, opp, stages, monkeypatch
):
    from accounts import selectors

    monkeypatch.setattr(selectors, "BOARD_LIMIT", 2)
    made = [opp(str(1000 + i), stages["proposal"]) for i in range(5)]
    client.force_login(rep_a)
    html = client.get(BOARD).content.decode()
    assert html.count('data-testid="pipeline-card"') == 2 and 'data-testid="stage-more"' in html
    more = reverse("accounts:pipeline-stage", args=[stages["proposal"].pk])
    page = client.get(more, {"after": f"{made[3].amount}_{made[3].pk}"}, **HTMX)
    body = page.content.decode()
    assert f'id="opp-{made[2].pk}"' in body and f'id="opp-{made[1].pk}"' in body
    assert f'id="opp-{made[3].pk}"' not in body and 'data-testid="stage-more"' in body
    assert client.get(more, {"after": "x"}).status_code == 200  # a full page without htmx


def test_drag_and_drop_moves_records_history_and_returns_both_columns(client, rep_a, opp, stages):
    o = opp("2000", stages["qualification"])
    client.force_login(rep_a)
    response = client.post(
        move_url(o, "view=mine&currency=CNY"), {"stage": stages["proposal"].pk}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    o.refresh_from_db()
    assert o.stage == stages["proposal"]
    change = OpportunityStageChange.objects.filter(opportunity=o).latest("id")
    assert (change.from_stage, change.to_stage, change.changed_by) == (
        stages["qualification"],
        stages["proposal"],
        rep_a,
    )
    assert html.count('hx-swap-oob="true"') == 4  # two columns, the status, the dialog
    old = html[html.index(f'id="stage-col-{stages["qualification"].pk}"') :]
    new = html[html.index(f'id="stage-col-{stages["proposal"].pk}"') :]
    assert re.search(r'data-testid="stage-count"[^>]*>0<', old[: old.index("</header>")])
    assert re.search(r'data-testid="stage-count"[^>]*>1<', new[: new.index("</header>")])
    assert "¥1,000.00" in new[: new.index("</header>")]  # 2000 × 50 %
    assert f'id="opp-{o.pk}"' in new
    assert 'data-testid="pipeline-done"' in html


def test_keyboard_form_without_htmx_moves_and_returns_to_the_board(client, rep_a, opp, stages):
    o = opp("500", stages["qualification"])
    client.force_login(rep_a)
    response = client.post(move_url(o, "view=mine&period=this_year"), {"stage": stages["won"].pk})
    assert response.status_code == 302
    assert response.url == f"{BOARD}?view=mine&period=this_year&currency=CNY"
    o.refresh_from_db()
    assert o.stage == stages["won"]
    page = client.get(response.url).content.decode()
    assert "已从" in page and "移至" in page  # the success message on the board


def test_one_shared_move_menu_and_a_move_link_per_card(client, rep_a, opp, stages):
    made = [opp(str(100 + i), stages["qualification"]) for i in range(3)]
    client.force_login(rep_a)
    html = client.get(BOARD, {"view": "mine"}).content.decode()
    # One form and one stage list on the board, whatever the number of cards ...
    assert html.count('data-testid="card-move-form"') == 1
    assert html.count('name="stage"') == 1
    board = html[html.index('data-testid="pipeline-board"') : html.index("pipeline-move-menu")]
    assert "<form" not in board and "<select" not in board  # no form in the cards
    # ... and each card a link to its move page (the menu without JavaScript).
    for o in made:
        assert f'id="move-open-{o.pk}"' in html
        assert f'href="{move_url(o, "view=mine&amp;currency=CNY")}"' in html


def test_the_move_link_opens_a_page_with_the_form_without_javascript(client, rep_a, opp, stages):
    o = opp("500", stages["qualification"], name="车队采购")
    client.force_login(rep_a)
    page = client.get(move_url(o, "view=mine&period=this_year"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "车队采购" in html and 'data-testid="card-move-form"' in html
    # The boards' shared page (components/board_move_page.html), the stage's words.
    assert page.templates[0].name == "components/board_move_page.html"
    assert "移至其他阶段" in html and "商机看板" in html
    assert f'action="{move_url(o, "view=mine&amp;period=this_year&amp;currency=CNY")}"' in html
    selected = re.search(r'<option value="(\d+)" selected>', html).group(1)
    assert selected == str(stages["qualification"].pk)
    back = f"{BOARD}?view=mine&amp;period=this_year&amp;currency=CNY"
    assert f'name="next" value="{back}"' in html
    response = client.post(
        move_url(o, "view=mine&period=this_year"),
        {"stage": stages["proposal"].pk, "next": back.replace("&amp;", "&")},
    )
    assert response.status_code == 302 and response.url == back.replace("&amp;", "&")
    o.refresh_from_db()
    assert o.stage == stages["proposal"]


def test_lost_without_a_reason_is_refused_and_the_reason_asked_for(client, rep_a, opp, stages):
    o = opp("800", stages["proposal"])
    client.force_login(rep_a)
    refused = client.post(move_url(o), {"stage": stages["lost"].pk}, **HTMX)
    assert refused.status_code == 422
    body = refused.content.decode()
    assert "请说明商机丢失的原因。" in body and 'data-testid="lost-reason-form"' in body
    plain = client.post(move_url(o), {"stage": stages["lost"].pk})
    assert plain.status_code == 422 and 'name="lost_reason"' in plain.content.decode()
    o.refresh_from_db()
    assert o.stage == stages["proposal"]
    done = client.post(move_url(o), {"stage": stages["lost"].pk, "lost_reason": "预算取消"}, **HTMX)
    assert done.status_code == 200
    o.refresh_from_db()
    assert o.stage == stages["lost"] and o.lost_reason == "预算取消"


def test_a_stage_not_in_use_is_refused_with_a_message(client, rep_a, opp, stages):
    o = opp("800", stages["proposal"])
    retired = stages["negotiation"]
    OpportunityStage.objects.filter(pk=retired.pk).update(is_active=False)
    client.force_login(rep_a)
    response = client.post(move_url(o), {"stage": retired.pk}, **HTMX)
    assert (
        response.status_code == 422 and 'data-testid="pipeline-error"' in response.content.decode()
    )
    response = client.post(move_url(o), {"stage": retired.pk})
    assert response.status_code == 302
    o.refresh_from_db()
    assert o.stage == stages["proposal"]


def test_another_units_opportunity_is_a_404_and_not_on_the_board(
    client, rep_a, rep_b, opp, stages, make_account, unit_b
):
    theirs = opp(
        "700",
        stages["proposal"],
        name="乙方商机",
        account=make_account("乙公司", unit=unit_b),
        unit=unit_b,
        owner=rep_b,
    )
    client.force_login(rep_a)
    assert client.post(move_url(theirs), {"stage": stages["won"].pk}, **HTMX).status_code == 404
    assert client.get(move_url(theirs)).status_code == 404
    assert client.get(reverse("accounts:opportunity-detail", args=[theirs.pk])).status_code == 404
    assert "乙方商机" not in client.get(BOARD, {"view": "team"}).content.decode()
    theirs.refresh_from_db()
    assert theirs.stage == stages["proposal"]


def test_member_service_may_not_move(client, unit_a, opp, stages):
    o = opp("700", stages["proposal"])
    clerk = UserFactory(roles=[MEMBER_SERVICE], units=[unit_a])
    client.force_login(clerk)
    assert client.post(move_url(o), {"stage": stages["won"].pk}).status_code == 403
    assert client.get(move_url(o)).status_code == 403
    assert client.get(BOARD).status_code == 403


def test_mine_and_team_views_and_filters(client, rep_a, manager_a, opp, stages, unit_a):
    colleague = UserFactory(username="rep_c", roles=["sales_rep"], units=[unit_a])
    opp("100", stages["proposal"], name="我的商机")
    opp("200", stages["proposal"], name="同事商机", owner=colleague)
    soon = timezone.localdate()
    opp("300", stages["proposal"], name="本月商机", owner=colleague, expected_close=soon)
    client.force_login(rep_a)
    mine = client.get(BOARD).content.decode()  # reps start on their own
    assert "我的商机" in mine and "同事商机" not in mine
    client.force_login(manager_a)
    team = client.get(BOARD).content.decode()  # managers on the team's
    assert "我的商机" in team and "同事商机" in team
    by_rep = client.get(BOARD, {"view": "team", "rep": colleague.pk}).content.decode()
    assert "我的商机" not in by_rep and "同事商机" in by_rep
    month = client.get(BOARD, {"view": "team", "period": "this_month"}).content.decode()
    assert "本月商机" in month and "同事商机" not in month


@pytest.mark.parametrize("cards", [3, 30])
def test_move_query_count_is_pinned(client, rep_a, opp, stages, django_assert_num_queries, cards):
    for i in range(cards):
        opp(str(10 + i), stages["proposal"])
        opp(str(10 + i), stages["qualification"])
    o = opp("999", stages["qualification"])
    client.force_login(rep_a)
    client.get(BOARD)
    # session, user, permissions, the opportunity, stages, the lock, update, history,
    # the timeline event (customer, insert...), the maintained totals (out of the old key,
    # into the new: two), the sums, both columns' cards.
    with django_assert_num_queries(14):
        response = client.post(move_url(o), {"stage": stages["proposal"].pk}, **HTMX)
    assert response.status_code == 200


def test_moves_need_the_csrf_token_the_page_gives_htmx(rep_a, opp, stages):
    from django.test import Client

    o = opp("100", stages["qualification"])
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(rep_a)
    html = browser.get(BOARD).content.decode()
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html).group(1)
    refused = browser.post(move_url(o), {"stage": stages["proposal"].pk}, **HTMX)
    assert refused.status_code == 403
    moved = browser.post(
        move_url(o), {"stage": stages["proposal"].pk}, HTTP_X_CSRFTOKEN=token, **HTMX
    )
    assert moved.status_code == 200
    o.refresh_from_db()
    assert o.stage == stages["proposal"]
