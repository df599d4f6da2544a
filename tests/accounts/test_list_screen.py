"""The account list: filters, search (1–2 characters of a name, USCC, a contact's phone),
sort and keyset pages, saved views, bulk actions with a confirmation step, the blacklist mark,
the query count constant in rows, scoping (404 outside one's units), nav, card and search."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Account
from accounts.selectors.lists import AccountFilters, account_page, matching_accounts
from crm import services as crm_services
from crm.models import BlacklistEntry, BusinessUnit, CustomerTag, Tag, TagCategory, User
from crm.roles import MARKETING
from tests.accounts.conftest import make_uscc, phone
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _blacklist(customer, proposer: User, approver: User) -> BlacklistEntry:
    entry = crm_services.propose_blacklisting(
        customer=customer, user=proposer, reason="fraud", evidence="伪造合同"
    )
    return crm_services.approve_blacklisting(entry=entry, user=approver, comment="核实")


@pytest.fixture
def three(make_account: Callable[..., Account], rep_a: User) -> list[Account]:
    a = make_account(
        "星辰科技有限公司",
        fields={"industry": "I", "status": "active", "province": "上海", "city": "上海"},
    )
    b = make_account(
        "东方物流集团",
        fields={"industry": "G", "status": "prospect", "province": "江苏", "city": "苏州"},
    )
    c = make_account(
        "海川制造股份",
        fields={"industry": "C", "status": "active", "province": "浙江", "city": "杭州"},
    )
    services.assign_owner(account=a, owner=rep_a, user=UserFactory(is_superuser=True))
    services.add_contact(account=b, identities=phone(4321), name="李雷", user=rep_a)
    return [a, b, c]


def _names(user: User, **params: str) -> list[str]:
    page = account_page(user=user, filters=AccountFilters.from_params(params))
    return [a.customer.display_name for a in page.rows]


def test_filters_and_search(three, rep_a: User, unit_a: BusinessUnit):
    a, _b, _c = three
    assert _names(rep_a) == ["海川制造股份", "东方物流集团", "星辰科技有限公司"]
    assert _names(rep_a, industry="G") == ["东方物流集团"]
    assert _names(rep_a, status="active", province="浙江") == ["海川制造股份"]
    assert _names(rep_a, city="苏州") == ["东方物流集团"]
    assert _names(rep_a, owner="me") == ["星辰科技有限公司"]
    assert _names(rep_a, owner=str(rep_a.pk)) == ["星辰科技有限公司"]
    assert _names(rep_a, owner="none") == ["海川制造股份", "东方物流集团"]
    assert _names(rep_a, unit=str(unit_a.pk)) == _names(rep_a)
    assert _names(rep_a, industry="Z", status="bogus") == _names(rep_a)  # invalid: dropped
    # one and two Chinese characters through the name's character/pair index
    assert _names(rep_a, q="星") == ["星辰科技有限公司"]
    assert _names(rep_a, q="物流") == ["东方物流集团"]
    assert _names(rep_a, q="制造股份") == ["海川制造股份"]
    uscc = a.customer.identities.get(type="uscc").value
    assert _names(rep_a, q=uscc) == ["星辰科技有限公司"]
    # a contact's phone: the full number or its last four digits
    assert _names(rep_a, q="13800134321") == ["东方物流集团"]
    assert _names(rep_a, q="4321") == ["东方物流集团"]
    assert _names(rep_a, q="0013432") == []  # a fragment: only for who may reveal


def test_blacklist_filter_and_mark(three, rep_a: User, client):
    a, _b, _c = three
    proposer = UserFactory(is_superuser=True)
    _blacklist(a.customer, proposer, UserFactory(is_superuser=True))
    assert _names(rep_a, blacklisted="yes") == ["星辰科技有限公司"]
    assert "星辰科技有限公司" not in _names(rep_a, blacklisted="no")
    client.force_login(rep_a)
    html = client.get(reverse("accounts:list")).content.decode()
    assert html.count('data-testid="blacklist-mark"') == 1


def test_sort_and_keyset_pages(three, rep_a: User):
    filters = AccountFilters()
    first = account_page(user=rep_a, filters=filters, sort="name", page_size=2)
    assert first.has_next and len(first.rows) == 2
    second = account_page(
        user=rep_a, filters=filters, sort="name", after=first.next_cursor, page_size=2
    )
    names = [a.customer.display_name for a in first.rows + second.rows]
    assert names == sorted(names) and len(set(names)) == 3 and not second.has_next
    back = account_page(user=rep_a, filters=filters, sort="-name", page_size=3)
    assert [a.customer.display_name for a in back.rows] == names[::-1]
    tampered = account_page(user=rep_a, filters=filters, sort="name", after="bm9wZQ")
    assert len(tampered.rows) == 3  # a cursor we did not make: the first page


def test_rows_show_every_unit_of_their_account(three, rep_a: User, unit_b, client):
    three[0].business_units.add(unit_b)  # the account deals with two units, the rep sees one
    client.force_login(rep_a)
    html = client.get(reverse("accounts:list"), {"q": "星辰科技"}).content.decode()
    assert html.count('data-testid="account-row"') == 1
    assert (
        '<span class="badge bg-secondary-lt me-1" title="星辰汽车">AUTO</span>'
        '<span class="badge bg-secondary-lt me-1" title="星辰物业">PROP</span>'
    ) in html


def test_list_query_count_is_constant_in_rows(
    make_account, rep_a: User, client, django_assert_num_queries
):
    for i in range(3):
        make_account(f"公司{i}", fields={"industry": "C"})
    client.force_login(rep_a)
    client.get(reverse("accounts:list"))
    # 10: no distinct scan of the provinces in scope any more (a constant list, issue 17);
    # 11 since reps tag customers: the tags of the bulk "add a tag" menu; 9 -> 7: the rows'
    # units and blacklist marks read in the rows' query (a query each before).
    with django_assert_num_queries(7) as few:
        assert client.get(reverse("accounts:list") + "?industry=C&q=公司").status_code == 200
    for i in range(3, 20):
        account = make_account(f"公司{i}", fields={"industry": "C"})
        services.add_contact(account=account, identities=phone(i), name=f"人{i}", user=rep_a)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse("accounts:list") + "?industry=C&q=公司")
    assert response.content.decode().count('data-testid="account-row"') == 20


def test_filters_live_in_the_url_and_save_as_a_view(three, rep_a: User, client):
    view = crm_services.save_view(
        user=rep_a,
        list_key="accounts.accounts",
        name="上海的活跃客户",
        query="status=active&province=上海&after=xyz&sort=-id&bogus=1",
    )
    assert view.query == "province=%E4%B8%8A%E6%B5%B7&status=active"
    client.force_login(rep_a)
    html = client.get(reverse("accounts:list") + "?" + view.query).content.decode()
    assert "上海的活跃客户" in html and html.count('data-testid="account-row"') == 1
    assert 'value="active" selected' in html  # the form shows the filter it applied


def test_bulk_assign_owner_asks_first_then_applies(three, rep_a: User, manager_a: User, client):
    _a, b, c = three
    client.force_login(rep_a)
    post = {"action": "assign_owner", "owner": str(manager_a.pk), "ids": [b.pk, c.pk]}
    assert client.post(reverse("accounts:bulk"), post).status_code == 403  # reps may not
    client.force_login(manager_a)
    confirm = client.post(reverse("accounts:bulk"), {**post, "query": "industry=C"})
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert html.count('data-testid="bulk-account"') == 2 and "东方物流集团" in html
    assert not Account.objects.filter(owner=manager_a).exists()  # nothing yet
    done = client.post(reverse("accounts:bulk"), {**post, "confirm": "1", "query": "industry=C"})
    assert done["Location"] == reverse("accounts:list") + "?industry=C"
    assert set(Account.objects.filter(owner=manager_a).values_list("pk", flat=True)) == {b.pk, c.pk}


def test_bulk_add_tag_reuses_the_tag_service(three, unit_a: BusinessUnit, client):
    a, b, _c = three
    tagger = UserFactory(username="mkt", roles=[MARKETING], units=[unit_a])
    tag = Tag.objects.create(category=TagCategory.objects.create(name="行业"), name="重点客户")
    client.force_login(tagger)
    post = {"action": "add_tag", "tag": str(tag.pk), "ids": [a.pk, b.pk]}
    assert "重点客户" in client.post(reverse("accounts:bulk"), post).content.decode()
    assert not CustomerTag.objects.exists()
    client.post(reverse("accounts:bulk"), {**post, "confirm": "1"})
    assert set(CustomerTag.objects.values_list("customer_id", flat=True)) == {
        a.customer_id,
        b.customer_id,
    }


def test_other_units_accounts_are_404_on_every_route(
    make_account, rep_a: User, rep_b: User, unit_b: BusinessUnit, client, roles
):
    mine = make_account("星辰科技有限公司")
    contact = services.add_contact(account=mine, identities=phone(1), name="王五", user=rep_a)
    client.force_login(rep_b)
    assert _names(rep_b) == []
    gets = [reverse("accounts:detail", args=[mine.pk])]
    posts = [
        reverse(name, args=[mine.pk])
        for name in (
            "accounts:edit",
            "accounts:set-parent",
            "accounts:relation-add",
            "accounts:contact-add",
        )
    ] + [
        reverse("accounts:contact-roles", args=[mine.pk, contact.pk]),
        reverse("accounts:contact-left", args=[mine.pk, contact.pk]),
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url in posts:
        assert client.post(url, {"name": "x", "status": "active"}).status_code == 404, url
    boss = UserFactory(username="boss_b", roles=["sales_manager"], units=[unit_b])
    client.force_login(boss)
    assert client.post(reverse("accounts:assign-owner", args=[mine.pk]), {}).status_code == 404
    post = {"action": "assign_owner", "owner": str(boss.pk), "ids": [mine.pk]}
    client.post(reverse("accounts:bulk"), {**post, "confirm": "1"})
    assert Account.objects.get(pk=mine.pk).owner_id is None  # not in scope: not touched


def test_nav_home_card_and_search(three, rep_a: User, client):
    client.force_login(rep_a)
    home = client.get(reverse("home")).content.decode()
    assert reverse("accounts:list") in home  # the navigation entry
    assert "星辰科技有限公司" in home and reverse("accounts:list") + "?owner=me" in home
    found = client.get(reverse("search") + "?q=物流").content.decode()
    assert reverse("accounts:detail", args=[three[1].pk]) in found


def test_empty_state(rep_a: User, client):
    client.force_login(rep_a)
    html = client.get(reverse("accounts:list")).content.decode()
    assert 'data-testid="empty-state"' in html
    filtered = client.get(reverse("accounts:list") + "?q=不存在").content.decode()
    assert 'data-testid="empty-state"' in filtered


def test_matching_accounts_is_scoped(three, rep_b: User):
    accounts, audit = matching_accounts(user=rep_b, filters=AccountFilters())
    assert list(accounts) == [] and audit == ""
    assert make_uscc()  # fixtures' USCCs are valid


def test_the_demo_reps_first_screen_shows_their_accounts(client):
    import random

    from django.core.management import call_command

    from crm.demo import load_platform_demo
    from crm.demo_master import make_uscc as demo_uscc
    from crm.services import IdentityInput, resolve_customer

    load_platform_demo()
    rng = random.Random(7)
    for n in range(6):
        resolve_customer(
            identities=[IdentityInput("uscc", demo_uscc(rng))],
            attributes={"display_name": f"星辰演示公司{n}", "kind": "organization"},
            source="demo",
        )
    call_command("load_accounts_demo", verbosity=0)
    rep = User.objects.get(username="rep")
    client.force_login(rep)
    home = client.get(reverse("home")).content.decode()
    assert "我的企业客户" in home and "星辰演示公司0" in home
    listed = client.get(reverse("accounts:list") + "?owner=me").content.decode()
    assert listed.count('data-testid="account-row"') == 5


def test_a_phone_fragment_is_for_who_may_reveal_and_audited(three, manager_a: User, client):
    from crm.models import PiiAccess

    _a, b, _c = three
    assert _names(manager_a, q="0013432") == ["东方物流集团"]  # inside a contact's phone
    client.force_login(manager_a)
    html = client.get(reverse("accounts:list"), {"q": "0013432"}).content.decode()
    assert html.count('data-testid="account-row"') == 1
    audit = PiiAccess.objects.get()
    assert audit.customer_id == b.customer_id and audit.identity_type == "search:digits"


def test_province_options_are_china_divisions_and_keep_an_unknown_filter(
    make_account, rep_a: User, client
):
    from accounts.regions import PROVINCES
    from accounts.selectors.lists import province_choices

    assert len(PROVINCES) == 34 and {"上海", "内蒙古", "香港"} <= set(PROVINCES)
    assert province_choices() == list(PROVINCES)
    assert province_choices(selected="Shanghai")[-1] == "Shanghai"
    make_account("外文省份公司", fields={"province": "Shanghai"})
    client.force_login(rep_a)
    page = client.get(reverse("accounts:list") + "?province=Shanghai").content.decode()
    assert "外文省份公司" in page
    assert '<option value="Shanghai" selected>' in page
