"""The lead page and "my leads": header, quarantine banner, existing customer, follow-ups
through the htmx form, status actions, release, assignment, conversion (B2B and B2C),
audited reveal, scope, and the query counts pinned whatever the rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import PiiAccess, User
from leads import services
from leads.models import FollowUp, Lead, LeadStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def held(make_lead, rep, **kwargs) -> Lead:
    lead = make_lead(**kwargs)
    services.claim_lead(lead=lead.pk, user=rep)
    lead.refresh_from_db()
    return lead


def test_lead_page_shows_header_and_masked_contact(client, rep_a, make_lead):
    lead = held(make_lead, rep_a, name="李雷", phone="+8613912345678", region="福州", score=70)
    client.force_login(rep_a)
    response = client.get(reverse("leads:detail", args=[lead.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="lead-status"' in html and "福州" in html
    assert "139****5678" in html and "13912345678" not in html
    assert 'data-testid="recycle-due"' in html
    assert 'data-testid="follow-up-form"' in html  # the holder works it


def test_quarantine_banner_and_existing_customer(client, manager, make_lead, rep_a):
    from crm.services import IdentityInput, resolve_customer

    customer = resolve_customer(
        identities=[IdentityInput("mobile", "13600136001")],
        attributes={"display_name": "王五"},
        source="pos",
    ).customer
    lead = make_lead(
        name="王五",
        quarantined=True,
        quarantine_reason="黑名单：欺诈",
        customer=customer,
        existing_customer=True,
        customer_owner=rep_a,
    )
    client.force_login(manager)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'data-testid="quarantine-banner"' in html and "黑名单：欺诈" in html
    assert 'data-testid="existing-customer-banner"' in html
    assert (rep_a.get_full_name() or rep_a.username) in html
    assert reverse("customer-detail", args=[customer.pk]) in html
    assert 'data-testid="assign-card"' not in html  # quarantined: nobody assigns it


def test_other_reps_lead_is_404(client, rep_a, rep_b, make_lead):
    lead = held(make_lead, rep_a)
    client.force_login(rep_b)
    assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 404
    assert (
        client.post(reverse("leads:follow-up", args=[lead.pk]), {"kind": "call"}).status_code == 404
    )
    assert (
        client.post(reverse("leads:action", args=[lead.pk]), {"action": "release"}).status_code
        == 404
    )


def test_follow_up_through_htmx(client, rep_a, make_lead):
    lead = held(make_lead, rep_a)
    client.force_login(rep_a)
    url = reverse("leads:follow-up", args=[lead.pk])
    later = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        url,
        {"kind": "call", "outcome": "interested", "note": "聊得不错", "next_action_at": later},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204 and response["HX-Refresh"] == "true"
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "聊得不错" in html and 'data-testid="lead-event"' in html
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED and lead.next_follow_up_at is not None
    assert FollowUp.objects.filter(lead=lead, author=rep_a).count() == 1


def test_follow_up_errors_are_shown(client, rep_a, make_lead):
    lead = held(make_lead, rep_a)
    client.force_login(rep_a)
    url = reverse("leads:follow-up", args=[lead.pk])
    past = (timezone.localtime() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"kind": "call", "next_action_at": past}, HTTP_HX_REQUEST="true")
    assert response.context["follow_up_form"].errors
    response = client.post(url, {"kind": "fax"}, HTTP_HX_REQUEST="true")
    assert "kind" in response.context["follow_up_form"].errors
    assert not FollowUp.objects.exists()


def test_compact_follow_up_on_my_leads(client, rep_a, make_lead):
    lead = held(make_lead, rep_a)
    client.force_login(rep_a)
    url = reverse("leads:follow-up", args=[lead.pk])
    form = client.get(url + "?compact=1", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="quick-follow-up-form"' in form
    done = client.post(url, {"kind": "message", "compact": "1"}, HTTP_HX_REQUEST="true")
    assert 'data-testid="follow-up-saved"' in done.content.decode()
    assert FollowUp.objects.filter(lead=lead, kind="message").exists()


def test_follow_up_on_a_lead_not_held_is_refused(client, rep_a, manager, make_lead):
    lead = make_lead()
    client.force_login(rep_a)
    response = client.post(
        reverse("leads:follow-up", args=[lead.pk]), {"kind": "call"}, HTTP_HX_REQUEST="true"
    )
    assert response.context["follow_up_form"].non_field_errors()
    assert not FollowUp.objects.exists()


def test_qualify_lose_and_release(client, rep_a, make_lead):
    lead = held(make_lead, rep_a)
    client.force_login(rep_a)
    action = reverse("leads:action", args=[lead.pk])
    client.post(action, {"action": "qualify"})
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'data-testid="convert-form"' in page
    response = client.post(action, {"action": "lose", "reason": "other"})
    assert response.status_code == 200  # "other" needs a note: the form says so
    assert response.context["lose_form"].errors
    client.post(action, {"action": "lose", "reason": "budget", "note": "明年再说"})
    lead.refresh_from_db()
    assert lead.status == LeadStatus.LOST and lead.lost_reason == "budget"
    other = held(make_lead, rep_a)
    response = client.post(reverse("leads:action", args=[other.pk]), {"action": "release"})
    other.refresh_from_db()
    assert other.owner is None and other.status == LeadStatus.NEW
    assert response.status_code == 302


def test_manager_transfers_from_the_lead_page(client, rep_a, rep_b, manager, make_lead):
    lead = held(make_lead, rep_a)
    client.force_login(manager)
    client.post(reverse("leads:action", args=[lead.pk]), {"action": "assign", "rep": rep_b.pk})
    lead.refresh_from_db()
    assert lead.owner == rep_b
    client.force_login(rep_a)
    response = client.post(
        reverse("leads:action", args=[lead.pk]), {"action": "assign", "rep": rep_a.pk}
    )
    assert response.status_code == 404  # no longer rep_a's


def test_convert_a_company_lead(client, rep_a, make_lead):
    from accounts.models import Account, Opportunity
    from tests.accounts.conftest import make_uscc

    lead = held(make_lead, rep_a, kind="company", company="星辰重工", name="张三")
    services.qualify_lead(lead=lead.pk, user=rep_a)
    client.force_login(rep_a)
    url = reverse("leads:convert", args=[lead.pk])
    bad = client.post(url, {"uscc": "", "amount": "1000"})
    assert bad.status_code == 200 and bad.context["convert_form"].errors
    response = client.post(
        url, {"uscc": make_uscc(77), "opportunity_name": "车队采购", "amount": "250000"}
    )
    account = Account.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:detail", args=[account.pk])
    assert Opportunity.objects.filter(account=account, name="车队采购").exists()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.customer == account.customer


def test_convert_a_person_lead_into_a_member(client, rep_a, make_lead):
    from members.models import Member

    lead = held(make_lead, rep_a, name="赵六")
    services.qualify_lead(lead=lead.pk, user=rep_a)
    client.force_login(rep_a)
    response = client.post(reverse("leads:convert", args=[lead.pk]), {"member_channel": "store"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert Member.objects.filter(customer=lead.customer).exists()


def test_reveal_is_audited_and_needs_the_permission(client, rep_a, manager, make_lead, unit_a):
    lead = make_lead(phone="+8613912345678")
    client.force_login(rep_a)
    assert client.post(reverse("leads:reveal", args=[lead.pk])).status_code == 403
    steward = UserFactory(username="stew", roles=["admin"], units=[unit_a])
    client.force_login(steward)
    response = client.post(reverse("leads:reveal", args=[lead.pk]), HTTP_HX_REQUEST="true")
    assert "+8613912345678" in response.content.decode()
    assert PiiAccess.objects.filter(user=steward, identity_type=f"lead:{lead.pk}").count() == 1


def test_lead_page_query_count_is_constant(client, rep_a, make_lead, django_assert_num_queries):
    lead = held(make_lead, rep_a)
    services.log_follow_up(lead=lead.pk, user=rep_a, kind="call", note="一")
    client.force_login(rep_a)
    url = reverse("leads:detail", args=[lead.pk])
    client.get(url)
    with django_assert_num_queries(5) as few:
        client.get(url)
    for i in range(12):
        services.log_follow_up(lead=lead.pk, user=rep_a, kind="visit", note=f"第{i}次")
    with django_assert_num_queries(len(few.captured_queries)):
        html = client.get(url).content.decode()
    assert html.count('data-testid="follow-up"') == 13


# --- my leads ---------------------------------------------------------------------------


def test_my_leads_due_first_with_recycle_deadline(client, rep_a, make_lead):
    later = held(make_lead, rep_a, name="稍后")
    soon = held(make_lead, rep_a, name="今天")
    unplanned = held(make_lead, rep_a, name="未计划")
    now = timezone.now()
    Lead.objects.filter(pk=later.pk).update(next_follow_up_at=now + timedelta(days=3))
    Lead.objects.filter(pk=soon.pk).update(next_follow_up_at=now - timedelta(hours=1))
    client.force_login(rep_a)
    response = client.get(reverse("leads:mine"))
    html = response.content.decode()
    assert html.index("今天") < html.index("稍后") < html.index(unplanned.name)
    assert html.count('data-testid="my-row"') == 3
    assert response.context["load"]["held"] == 3 and 'data-testid="hold-count"' in html
    assert 'class="table-danger"' in html  # the overdue follow-up
    assert [r["recycle_due"] is not None for r in response.context["rows"]] == [True] * 3
    overdue = client.get(reverse("leads:mine") + "?due=overdue").content.decode()
    assert overdue.count('data-testid="my-row"') == 1


def test_my_leads_rows_made_in_the_view_escape_and_translate(client, rep_a, make_lead):
    lead = held(make_lead, rep_a, name="<b>韩</b>", region="上海")
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=None)
    client.force_login(rep_a)
    html = client.get(reverse("leads:mine"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "&lt;b&gt;韩&lt;/b&gt;" in html and "<b>韩</b>" not in html
    assert "未安排" in html and "剩余" in html  # not planned; days left before recycling
    assert f'hx-get="{reverse("leads:follow-up", args=[lead.pk])}?compact=1"' in html
    assert f'<div id="fu-{lead.pk}"></div>' in html and " · 上海" in html


def test_my_leads_only_mine_and_empty_state(client, rep_a, rep_b, make_lead):
    held(make_lead, rep_b, name="别人的")
    client.force_login(rep_a)
    html = client.get(reverse("leads:mine")).content.decode()
    assert "别人的" not in html and 'data-testid="empty-state"' in html


def test_my_leads_keyset_pages(client, rep_a, make_lead, public_pool):
    public_pool.hold_limit = 40
    public_pool.daily_claim_quota = 40
    public_pool.save()
    for i in range(27):
        held(make_lead, rep_a, name=f"我的{i}")
    client.force_login(rep_a)
    first = client.get(reverse("leads:mine"))
    assert len(first.context["rows"]) == 25
    second = client.get(reverse("leads:mine") + f"?after={first.context['page'].next_cursor}")
    assert len(second.context["rows"]) == 2


def test_my_leads_query_count_is_constant(
    client, rep_a, make_lead, public_pool, django_assert_num_queries
):
    public_pool.hold_limit = 40
    public_pool.daily_claim_quota = 40
    public_pool.save()
    held(make_lead, rep_a)
    client.force_login(rep_a)
    url = reverse("leads:mine")
    client.get(url)
    # 10: the page (5) and the hold count and quota of the rep's public pool (5: the rep's
    # units are not read again)
    with django_assert_num_queries(8) as few:
        client.get(url)
    for _ in range(15):
        held(make_lead, rep_a)
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(url).content.decode().count('data-testid="my-row"') == 16


def test_home_card_my_leads_due_today(client, rep_a, make_lead):
    lead = held(make_lead, rep_a, name="今日待跟进")
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(hours=1))
    held(make_lead, rep_a, name="没安排")
    client.force_login(rep_a)
    html = client.get(reverse("home")).content.decode()
    assert "今日待跟进" in html and "没安排" not in html
    assert reverse("leads:mine") + "?due=today" in html


def test_nav_entries_follow_permissions(client, rep_a, manager):
    client.force_login(rep_a)
    html = client.get(reverse("home")).content.decode()
    assert reverse("leads:pool") in html and reverse("leads:mine") in html
    assert reverse("leads:team") not in html
    client.force_login(manager)
    html = client.get(reverse("home")).content.decode()
    assert reverse("leads:team") not in html  # the leads screens link it (tabs)
    html = client.get(reverse("leads:pool")).content.decode()
    assert reverse("leads:team") in html and reverse("leads:funnel") in html


def test_user_without_units_sees_nothing(client, make_lead):
    lead = make_lead()
    loner: User = UserFactory(username="loner", roles=["sales_rep"], units=[])
    client.force_login(loner)
    assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 404
