"""The leads admin: masked identities, a full phone finds its lead, lists in a bounded
number of queries, pools edited with their members and per-role limits."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads.services import LeadInput, intake_lead

pytestmark = pytest.mark.django_db


def test_the_lead_list_masks_phones_and_finds_a_full_number(
    client, admin_user, unit_a, django_assert_max_num_queries
):
    for i in range(5):
        intake_lead(business_unit=unit_a, data=LeadInput(name=f"客户{i}", phone=f"1380013800{i}"))
    client.force_login(admin_user)
    url = reverse("admin:leads_lead_changelist")
    with django_assert_max_num_queries(12):
        page = client.get(url).content.decode()
    assert "138****8000" in page and "13800138000" not in page
    found = client.get(url, {"q": "138 0013 8003"}).content.decode()
    assert "客户3" in found and "客户1" not in found


def test_pool_admin_pages_open(client, admin_user, public_pool):
    client.force_login(admin_user)
    for name, args in (
        ("admin:leads_leadpool_changelist", []),
        ("admin:leads_leadpool_change", [public_pool.pk]),
        ("admin:leads_channelcost_add", []),
        ("admin:leads_leadevent_changelist", []),
        ("admin:leads_followup_changelist", []),
    ):
        assert client.get(reverse(name, args=args)).status_code == 200, name


def test_routing_rules_in_the_admin_list_search_add_and_link_from_the_pool(
    client, admin_user, unit_a, unit_b, rep_a, team_pool, django_assert_max_num_queries
):
    from django.utils.html import escape
    from django.utils.translation import gettext, ngettext

    from leads.models import LeadPool, RoutingRule

    for n in range(3):
        RoutingRule.objects.create(
            business_unit=unit_a,
            name=f"规则{n}",
            priority=n,
            regions=["杭州", "上海"] if n else ["苏州"],
            sources=["trade_show"],
            pool=team_pool,
            rep=rep_a if n else None,
        )
    client.force_login(admin_user)
    url = reverse("admin:leads_routingrule_changelist")
    with django_assert_max_num_queries(12):
        page = client.get(url).content.decode()
    assert "杭州, 上海" in page and "规则2" in page and "rep_a" in page
    found = client.get(url, {"q": "苏州"}).content.decode()
    assert "规则0" in found and "规则1" not in found
    add = reverse("admin:leads_routingrule_add")
    assert client.get(add).status_code == 200
    form = {
        "business_unit": unit_a.pk,
        "name": "展会杭州",
        "priority": 5,
        "is_active": "on",
        "regions": " 杭州，上海 , 杭州、",
        "industries": "",
        "sources": ["trade_show", "ad"],
        "pool": team_pool.pk,
        "rep": rep_a.pk,
    }
    saved = client.post(add, form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    made = RoutingRule.objects.get(name="展会杭州")
    assert (made.regions, made.industries, made.sources) == (
        ["杭州", "上海"],
        [],
        ["trade_show", "ad"],
    )
    other_pool = LeadPool.objects.create(business_unit=unit_b, name="物业组")
    wrong = client.post(add, {**form, "name": "别家", "pool": other_pool.pk})
    assert wrong.status_code == 200
    message = gettext("Choose an active pool of the rule's business unit.")
    assert escape(message) in wrong.content.decode()
    catch_all = client.post(add, {**form, "name": "全部", "regions": "", "sources": []})
    assert catch_all.status_code == 200
    assert "地区、行业或来源" in catch_all.content.decode()
    pool_page = client.get(reverse("admin:leads_leadpool_change", args=[team_pool.pk]))
    linked_label = ngettext(
        "%(n)d routing rule sends leads here", "%(n)d routing rules send leads here", 4
    ) % {"n": 4}
    assert linked_label in pool_page.content.decode()
    linked = client.get(url, {"pool__id__exact": team_pool.pk})
    assert linked.status_code == 200 and "展会杭州" in linked.content.decode()
