"""The pool screens: filters in the URL, search, keyset pages, claim, claim next, bulk claim
and bulk assign with a confirmation page, the hold count, empty states, scope (404/403) and
the query count pinned whatever the rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import User
from crm.roles import SALES_REP
from leads.models import Lead, LeadEvent, LeadPool, LeadStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

POOL = reverse("leads:pool")


def rows(response) -> int:
    return response.content.decode().count('data-testid="lead-row"')


def test_rep_sees_the_public_pool_with_hold_count_and_claims_a_lead(
    client, rep_a: User, public_pool: LeadPool, make_lead
):
    lead = make_lead(name="韩梅梅", phone="+8613912345678")
    client.force_login(rep_a)
    response = client.get(POOL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "韩梅梅" in html
    assert "139****5678" in html and "13912345678" not in html  # masked
    assert 'data-testid="hold-count"' in html
    assert response.context["load"] == {
        "held": 0,
        "hold_limit": 5,
        "claims_today": 0,
        "daily_quota": 20,
    }
    response = client.post(
        reverse("leads:claim", args=[lead.pk]), {"query": f"pool={public_pool.pk}"}
    )
    assert response.status_code == 302 and response["Location"] == f"{POOL}?pool={public_pool.pk}"
    lead.refresh_from_db()
    assert lead.owner == rep_a and lead.status == LeadStatus.ASSIGNED
    assert LeadEvent.objects.filter(lead=lead, kind="claimed", to_owner=rep_a).exists()
    client.get(POOL)  # shows the message once
    page = client.get(POOL).content.decode()
    assert "1 of 5 held" in page or "已领取 1 / 5" in page or "1 / 5" in page
    assert "韩梅梅" not in page  # no longer waiting
    assert 'data-testid="empty-state"' in page


def test_claim_refused_shows_the_rule(client, rep_a: User, rep_b: User, make_lead):
    lead = make_lead()
    client.force_login(rep_b)
    client.post(reverse("leads:claim", args=[lead.pk]))
    client.force_login(rep_a)
    response = client.post(reverse("leads:claim", args=[lead.pk]), follow=True)
    # The lead left rep_a's scope (rep_b holds it): 404, never a hint
    assert response.status_code == 404


def test_hold_limit_refusal_is_a_message(client, rep_a: User, make_lead, public_pool):
    public_pool.hold_limit = 1
    public_pool.save()
    first, second = make_lead(), make_lead()
    client.force_login(rep_a)
    client.post(reverse("leads:claim", args=[first.pk]))
    response = client.post(reverse("leads:claim", args=[second.pk]), follow=True)
    assert "1" in response.content.decode()
    second.refresh_from_db()
    assert second.owner is None
    messages = [str(m) for m in response.context["messages"]]
    assert any("1" in m for m in messages)


def test_claim_next_takes_the_oldest_and_opens_it(client, rep_a: User, public_pool, make_lead):
    old = make_lead(name="老线索")
    Lead.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    make_lead(name="新线索")
    client.force_login(rep_a)
    response = client.post(reverse("leads:claim-next"), {"pool": public_pool.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:detail", args=[old.pk])
    old.refresh_from_db()
    assert old.owner == rep_a


def test_claim_next_on_an_empty_pool_says_so(client, rep_a: User, public_pool):
    client.force_login(rep_a)
    response = client.post(reverse("leads:claim-next"), {"pool": public_pool.pk}, follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]


def test_filters_search_and_sort_live_in_the_url(client, rep_a: User, public_pool, make_lead):
    make_lead(name="甲", source="ad", region="福州", industry="制造", phone="+8613900001234")
    make_lead(name="乙", source="trade_show", region="厦门", score=90)
    make_lead(name="丙", source="ad", region="厦门")
    client.force_login(rep_a)
    base = f"{POOL}?pool={public_pool.pk}"
    assert rows(client.get(base + "&source=ad")) == 2
    assert rows(client.get(base + "&source=ad&region=厦门")) == 1
    assert rows(client.get(base + "&industry=制造")) == 1
    assert rows(client.get(base + "&q=1234")) == 1  # the phone's last 4 digits
    assert rows(client.get(base + "&q=乙")) == 1
    assert rows(client.get(base + "&q=13900001234")) == 1  # a whole number
    assert rows(client.get(base + "&age=older")) == 0
    assert rows(client.get(base + "&age=1")) == 3
    html = client.get(base + "&sort=-score").content.decode()
    assert html.index("乙") < html.index("甲")
    empty = client.get(base + "&q=不存在").content.decode()
    assert "No lead matches" in empty or "没有匹配" in empty or 'data-testid="empty-state"' in empty


def test_keyset_pages(client, rep_a: User, public_pool, make_lead):
    for i in range(27):
        make_lead(name=f"线索{i:02d}")
    client.force_login(rep_a)
    first = client.get(f"{POOL}?pool={public_pool.pk}")
    assert rows(first) == 25
    cursor = first.context["page"].next_cursor
    second = client.get(f"{POOL}?pool={public_pool.pk}&after={cursor}")
    assert rows(second) == 2
    shown = {r["lead"].pk for r in first.context["rows"]} | {
        r["lead"].pk for r in second.context["rows"]
    }
    assert len(shown) == 27


def test_pool_list_query_count_is_constant_in_rows(
    client, rep_a: User, public_pool, make_lead, django_assert_num_queries
):
    for _ in range(2):
        make_lead(source="ad")
    client.force_login(rep_a)
    url = f"{POOL}?pool={public_pool.pk}&source=ad"
    client.get(url)
    # 10: the rep's units are read once (crm.policy) and reused by the claim rules (was 11)
    with django_assert_num_queries(8) as few:
        assert rows(client.get(url)) == 2
    for _ in range(20):
        make_lead(source="ad", existing_customer=True)
    with django_assert_num_queries(len(few.captured_queries)):
        assert rows(client.get(url)) == 22


def test_team_pool_is_only_for_its_members(client, rep_a, rep_b, team_pool, make_lead):
    make_lead(pool=team_pool, name="组内线索")
    client.force_login(rep_a)
    assert "组内线索" in client.get(f"{POOL}?pool={team_pool.pk}").content.decode()
    client.force_login(rep_b)  # not a member
    assert client.get(f"{POOL}?pool={team_pool.pk}").status_code == 404


def test_other_units_pool_is_404(client, rep_a, unit_b):
    other = LeadPool.objects.create(business_unit=unit_b, name="物业公海", kind="public")
    client.force_login(rep_a)
    assert client.get(f"{POOL}?pool={other.pk}").status_code == 404


def test_no_pool_shows_an_empty_state(client, rep_a):
    client.force_login(rep_a)
    html = client.get(POOL).content.decode()
    assert 'data-testid="empty-state"' in html


def test_without_the_permission_it_is_403(client, unit_a):
    clerk = UserFactory(username="clerk", roles=["member_service"], units=[unit_a])
    client.force_login(clerk)
    assert client.get(POOL).status_code == 403
    assert client.get(reverse("leads:mine")).status_code == 403
    assert client.get(reverse("leads:team")).status_code == 403


def test_bulk_claim_confirms_then_claims_each(client, rep_a, public_pool, make_lead):
    a, b = make_lead(name="一号"), make_lead(name="二号")
    client.force_login(rep_a)
    data = {"action": "claim", "ids": [a.pk, b.pk], "query": f"pool={public_pool.pk}"}
    confirm = client.post(reverse("leads:bulk"), data)
    html = confirm.content.decode()
    assert 'data-testid="bulk-confirm"' in html and "一号" in html and "二号" in html
    assert not Lead.objects.filter(owner=rep_a).exists()  # nothing happened yet
    done = client.post(reverse("leads:bulk"), {**data, "confirm": "1"})
    assert done.status_code == 302
    assert set(Lead.objects.filter(owner=rep_a).values_list("pk", flat=True)) == {a.pk, b.pk}


def test_bulk_claim_lists_refusals(client, rep_a, public_pool, make_lead):
    public_pool.hold_limit = 1
    public_pool.save()
    a, b = make_lead(name="一号"), make_lead(name="二号")
    client.force_login(rep_a)
    response = client.post(
        reverse("leads:bulk"), {"action": "claim", "ids": [a.pk, b.pk], "confirm": "1"}, follow=True
    )
    levels = [m.level_tag for m in response.context["messages"]]
    assert levels.count("success") == 1 and levels.count("error") == 1
    assert Lead.objects.filter(owner=rep_a).count() == 1


def test_bulk_assign_is_for_managers(client, rep_a, rep_b, manager, public_pool, make_lead):
    a, b = make_lead(), make_lead()
    client.force_login(rep_a)
    assert (
        client.post(
            reverse("leads:bulk"), {"action": "assign", "ids": [a.pk], "rep": rep_b.pk}
        ).status_code
        == 403
    )
    client.force_login(manager)
    listing = client.get(f"{POOL}?pool={public_pool.pk}").content.decode()
    assert 'data-testid="bulk-rep"' in listing
    data = {"action": "assign", "ids": [a.pk, b.pk], "rep": rep_b.pk}
    response = client.post(reverse("leads:bulk"), data)
    confirm = response.content.decode()
    assert response.context["rep"] == rep_b and 'data-testid="bulk-lead"' in confirm
    assert response.context["rep_name"] in confirm
    assert not Lead.objects.filter(owner=rep_b).exists()
    client.post(reverse("leads:bulk"), {**data, "confirm": "1"})
    assert set(Lead.objects.filter(owner=rep_b).values_list("pk", flat=True)) == {a.pk, b.pk}
    assert LeadEvent.objects.filter(kind="assigned", actor=manager).count() == 2


def test_bulk_assign_needs_a_rep_and_a_selection(client, manager, make_lead):
    lead = make_lead()
    client.force_login(manager)
    r = client.post(reverse("leads:bulk"), {"action": "assign", "ids": [lead.pk]}, follow=True)
    assert [m.level_tag for m in r.context["messages"]] == ["error"]
    r = client.post(reverse("leads:bulk"), {"action": "claim"}, follow=True)
    assert [m.level_tag for m in r.context["messages"]] == ["error"]


def test_quarantined_lead_is_marked_and_not_claimable(client, rep_a, public_pool, make_lead):
    make_lead(name="黑名单客户", quarantined=True, quarantine_reason="欺诈")
    client.force_login(rep_a)
    html = client.get(f"{POOL}?pool={public_pool.pk}").content.decode()
    assert 'data-testid="quarantine-mark"' in html
    assert 'data-testid="claim"' not in html


def test_other_rep_sees_the_pool_without_other_units_reps(client, unit_a, public_pool, make_lead):
    other = UserFactory(username="rep_c", roles=[SALES_REP], units=[unit_a])
    make_lead(name="公海线索")
    client.force_login(other)
    assert "公海线索" in client.get(POOL).content.decode()


def test_pool_export_follows_the_filter_and_masks_phones(rep_a, public_pool, make_lead):
    from leads.web.exports import count_leads, lead_rows

    make_lead(name="导出甲", source="ad", phone="+8613900005678")
    make_lead(name="导出乙", source="referral")
    params = {"pool": str(public_pool.pk), "source": "ad"}
    assert count_leads(rep_a, params) == 1
    (batch,) = list(lead_rows(rep_a, params, False))
    assert [row["name"] for row in batch] == ["导出甲"]
    assert batch[0]["phone"] == "139****5678"


def test_pool_page_in_both_languages(client, rep_a, public_pool, make_lead):
    make_lead()
    client.force_login(rep_a)
    zh = client.get(POOL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "领取下一条" in zh and "已持有" in zh
    client.cookies["django_language"] = "en"
    en = client.get(POOL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Claim next" in en and "0 of 5 held" in en


def test_pool_rows_made_in_the_view_escape_and_carry_the_claim_form(
    rep_a: User, public_pool: LeadPool, make_lead
):
    from django.test import Client

    lead = make_lead(name="<i>韩</i>", channel="汽车之家", region="上海", score=42)
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep_a)
    response = client.get(POOL, {"pool": public_pool.pk, "source": "web_form"})
    html = response.content.decode()
    assert "&lt;i&gt;韩&lt;/i&gt;" in html and "<i>韩</i>" not in html
    assert html.count("&lt;i&gt;韩&lt;/i&gt;") == 2  # the link and the checkbox's label
    assert 'data-testid="bulk-select"' in html and "汽车之家" in html
    assert f'action="{reverse("leads:claim", args=[lead.pk])}"' in html
    # The row's claim form posts with the page's CSRF token and keeps the filters.
    token = html.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert f'value="pool={public_pool.pk}&amp;source=web_form" data-current-query' in html
    claimed = client.post(
        reverse("leads:claim", args=[lead.pk]),
        {"csrfmiddlewaretoken": token, "query": f"pool={public_pool.pk}"},
    )
    assert claimed.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == rep_a
