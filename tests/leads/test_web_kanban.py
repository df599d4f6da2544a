"""The rep's kanban (my leads by status): the columns and their bounded cards, the query count
pinned whatever the number of leads held, a move through the services (history recorded),
an illegal move refused with the service's message (422, nothing changed), another rep's lead
a 404, lost only with a reason (asked in the board's dialog), and the empty state."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads import services
from leads.models import Lead, LeadEvent, LeadEventKind, LeadStatus
from leads.web import queries

pytestmark = pytest.mark.django_db

BOARD = "/leads/mine/board/"
HX = {"HTTP_HX_REQUEST": "true"}


def held(make_lead, rep, **kwargs) -> Lead:
    lead = make_lead(**kwargs)
    services.claim_lead(lead=lead.pk, user=rep)
    lead.refresh_from_db()
    return lead


def cards(html: str, status: str) -> int:
    """How many cards the column of ``status`` shows."""
    start = html.index(f'id="status-col-{status}"')
    end = html.index("</section>", start)
    return html[start:end].count('data-testid="pipeline-card"')


def count(html: str, status: str) -> str:
    start = html.index(f'id="status-col-{status}"')
    return re.search(r'data-testid="stage-count"[^>]*>([^<]*)<', html[start:]).group(1)


@pytest.fixture
def roomy(public_pool):
    public_pool.hold_limit = 200
    public_pool.daily_claim_quota = 200
    public_pool.save()
    return public_pool


def test_board_columns_cards_and_load(client, rep_a, rep_b, make_lead, roomy):
    first = held(make_lead, rep_a, name="韩梅梅", company="星辰重工", phone="+8613912345678")
    second = held(make_lead, rep_a, name="李雷")
    services.log_follow_up(lead=second.pk, user=rep_a, kind="call")
    services.qualify_lead(lead=second.pk, user=rep_a)
    held(make_lead, rep_b, name="别人的")
    Lead.objects.filter(pk=first.pk).update(next_follow_up_at=timezone.now() - timedelta(hours=1))
    client.force_login(rep_a)
    response = client.get(BOARD, HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert response.status_code == 200
    assert cards(html, "assigned") == 1 and cards(html, "qualified") == 1
    assert cards(html, "contacted") == 0 and count(html, "qualified") == "1"
    assert "别人的" not in html
    assert "星辰重工" in html and "139****5678" in html and "13912345678" not in html
    assert "跟进已逾期" in html and "未安排跟进" in html  # 韩梅梅 overdue, 李雷 unplanned
    assert "天后收回公海" in html  # the days left before recycling
    assert f'href="{reverse("leads:detail", args=[second.pk])}#convert"' in html
    assert 'data-stage-drop="lost"' in html and 'data-stage-drop="converted"' not in html
    assert 'data-testid="hold-count"' in html and response.context["load"]["held"] == 2
    assert 'src="/static/js/pipeline.js"' in html and "<script>" not in html
    assert '<li class="nav-item active" data-nav="leads-mine">' in html  # the nav follows
    # The list links the board and back.
    assert reverse("leads:mine-board") in client.get(reverse("leads:mine")).content.decode()


def test_board_query_count_does_not_grow_with_the_leads(
    client, rep_a, make_lead, roomy, django_assert_num_queries
):
    for _ in range(3):
        held(make_lead, rep_a)
    client.force_login(rep_a)
    client.get(BOARD)
    # 9: session, user, permissions; the board (one query: every column's count and first
    # cards, by window functions); the rep's units, pools, hold limit, holding and held count
    with django_assert_num_queries(7) as few:
        assert client.get(BOARD).content.decode().count('data-testid="pipeline-card"') == 3
    for _ in range(27):
        held(make_lead, rep_a)
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(BOARD).content.decode().count('data-testid="pipeline-card"') == 30


def test_a_column_shows_a_bounded_number_of_cards_and_links_the_list(
    client, rep_a, make_lead, roomy, monkeypatch
):
    monkeypatch.setattr(queries, "BOARD_LIMIT", 2)
    for i in range(5):
        held(make_lead, rep_a, name=f"线索{i}")
    client.force_login(rep_a)
    html = client.get(BOARD).content.decode()
    assert cards(html, "assigned") == 2 and count(html, "assigned") == "5"
    assert f'href="{reverse("leads:mine")}?status=assigned"' in html
    assert 'data-testid="stage-more"' in html


def test_move_by_drag_changes_status_and_records_history(client, rep_a, make_lead):
    lead = held(make_lead, rep_a, name="韩梅梅")
    client.force_login(rep_a)
    url = reverse("leads:move", args=[lead.pk])
    response = client.post(url, {"stage": "contacted"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
    event = LeadEvent.objects.filter(lead=lead, kind=LeadEventKind.STATUS).get()
    assert (event.from_status, event.to_status, event.actor) == ("assigned", "contacted", rep_a)
    # Both columns come back out of band with their counts, and the message.
    assert 'id="status-col-assigned"' in html and 'id="status-col-contacted"' in html
    assert 'id="status-col-qualified"' not in html and html.count('hx-swap-oob="true"') >= 3
    assert count(html, "contacted") == "1" and 'data-testid="pipeline-done"' in html
    client.post(url, {"stage": "qualified"}, **HX)
    client.post(url, {"stage": "contacted"}, **HX)  # qualified ↔ contacted both ways
    assert list(
        LeadEvent.objects.filter(lead=lead, kind="status").values_list("to_status", flat=True)
    ) == ["contacted", "qualified", "contacted"]


def test_illegal_move_is_422_with_the_services_message_and_changes_nothing(
    client, rep_a, make_lead
):
    lead = held(make_lead, rep_a)
    services.log_follow_up(lead=lead.pk, user=rep_a, kind="call")
    client.force_login(rep_a)
    url = reverse("leads:move", args=[lead.pk])
    response = client.post(url, {"stage": "assigned"}, HTTP_ACCEPT_LANGUAGE="zh-hans", **HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-testid="pipeline-error"' in html and "请使用" in html
    for bad in ("converted", "new", "nonsense"):
        assert client.post(url, {"stage": bad}, **HX).status_code == 422
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
    assert not LeadEvent.objects.filter(lead=lead, kind="status").exists()
    # Without JavaScript: back to the board with the message.
    response = client.post(url, {"stage": "assigned"})
    assert response.status_code == 302 and response["Location"] == BOARD


def test_another_reps_lead_is_404(client, rep_a, rep_b, make_lead):
    theirs = held(make_lead, rep_b)
    pooled = make_lead()
    client.force_login(rep_a)
    for lead in (theirs, pooled):
        url = reverse("leads:move", args=[lead.pk])
        assert client.post(url, {"stage": "contacted"}, **HX).status_code == 404
        assert client.get(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == LeadStatus.ASSIGNED


def test_lost_asks_the_reason_in_the_dialog_then_closes(client, rep_a, make_lead):
    lead = held(make_lead, rep_a, name="韩梅梅")
    client.force_login(rep_a)
    url = reverse("leads:move", args=[lead.pk])
    asked = client.post(url, {"stage": "lost"}, HTTP_ACCEPT_LANGUAGE="zh-hans", **HX)
    assert asked.status_code == 422
    html = asked.content.decode()
    assert 'id="pipeline-dialog-body"' in html and 'data-testid="lost-reason-form"' in html
    assert 'name="reason"' in html and 'data-testid="pipeline-error"' in html
    # "Other" needs the details.
    other = client.post(url, {"stage": "lost", "reason": "other"}, **HX)
    assert other.status_code == 422 and 'data-testid="lost-reason-form"' in other.content.decode()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.ASSIGNED
    done = client.post(url, {"stage": "lost", "reason": "budget"}, **HX)
    assert done.status_code == 200
    lead.refresh_from_db()
    assert (lead.status, lead.lost_reason) == (LeadStatus.LOST, "budget")
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEventKind.LOST).exists()
    body = done.content.decode()
    assert count(body, "assigned") == "0" and 'id="hold-load"' in body  # the head follows
    # A lost lead is no longer held: off the board, and 404 to move again.
    assert client.post(url, {"stage": "contacted"}, **HX).status_code == 404


def test_lost_without_javascript_asks_on_a_page(client, rep_a, make_lead):
    lead = held(make_lead, rep_a)
    client.force_login(rep_a)
    url = reverse("leads:move", args=[lead.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'data-testid="card-move-form"' in page.content.decode()
    # The boards' shared page (components/board_move_page.html), in the user's language.
    assert page.templates[0].name == "components/board_move_page.html"
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "移至其他状态" in html and '<label class="form-label" for="move-stage">状态' in html
    assert f'action="{url}"' in html and f'<option value="{lead.status}" selected>' in html
    asked = client.post(url, {"stage": "lost", "next": BOARD})
    assert asked.status_code == 422 and 'name="reason"' in asked.content.decode()
    done = client.post(url, {"stage": "lost", "reason": "no_need", "next": BOARD})
    assert done.status_code == 302 and done["Location"] == BOARD


def test_empty_state_when_holding_nothing(client, rep_a):
    client.force_login(rep_a)
    html = client.get(BOARD, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-testid="empty-state"' in html and "data-pipeline" not in html
    assert reverse("leads:pool") in html


def test_board_needs_the_claim_permission(client, unit_a, rep_a, make_lead):
    from tests.factories import UserFactory

    lead = held(make_lead, rep_a)
    clerk = UserFactory(username="clerk_k", roles=["member_service"], units=[unit_a])
    client.force_login(clerk)
    assert client.get(BOARD).status_code == 403
    assert client.post(reverse("leads:move", args=[lead.pk]), {"stage": "lost"}).status_code == 403


def test_board_in_english(client, rep_a, make_lead):
    held(make_lead, rep_a, name="Li Lei")
    client.force_login(rep_a)
    html = client.get(BOARD, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Drop a card here to close the lead as lost" in html
    assert "No follow-up planned" in html and "Back to the pool in 2 days" in html
    assert "Move to another status" in html and "No lead with this status." in html
