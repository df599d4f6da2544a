"""The member desk: search by each key (phones masked, fragments audited), the member page
(summary, lots, ledger filters and keyset pages), permissions, query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import PiiAccess
from crm.roles import SALES_REP
from members import services
from members.api.qr import signed_qr_value
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _rows(response) -> str:
    return response.content.decode()


def test_search_finds_by_full_phone_with_the_phone_masked(client, desk, make_member):
    member = make_member(phone="+8613912345678", attributes={"display_name": "李娜"})
    client.force_login(desk)
    response = client.get(reverse("members:desk"), {"q": "139 1234 5678"}, HTTP_HX_REQUEST="true")
    html = _rows(response)
    assert member.number in html
    assert "139****5678" in html
    assert "13912345678" not in html
    assert 'id="member-results"' in html and "<html" not in html  # the htmx fragment only


@pytest.mark.parametrize("key", ["number", "qr", "signed_qr", "last4", "name1", "name2"])
def test_search_finds_by_each_key(client, desk, make_member, key):
    member = make_member(phone="+8613700001111", attributes={"display_name": "欧阳明"})
    make_member(phone="+8613600002222", attributes={"display_name": "赵六"})
    query = {
        "number": member.number,
        "qr": member.qr_value,
        "signed_qr": signed_qr_value(member.number),
        "last4": "1111",
        "name1": "欧",
        "name2": "阳明",
    }[key]
    client.force_login(desk)
    html = _rows(client.get(reverse("members:desk"), {"q": query}))
    assert member.number in html
    assert "赵六" not in html


def test_search_finds_by_wechat_id(client, desk, make_member, unit_a):
    from crm.services import IdentityInput

    member = services.enrol_member(
        business_unit=unit_a,
        channel="wechat_mini",
        identities=[IdentityInput("wechat_unionid", "oWx_union_42")],
        attributes={"display_name": "微信用户"},
    ).member
    client.force_login(desk)
    assert member.number in _rows(client.get(reverse("members:desk"), {"q": "oWx_union_42"}))


def test_a_phone_fragment_search_is_audited(client, desk, make_member):
    member = make_member(phone="+8613812340000")
    client.force_login(desk)
    html = _rows(client.get(reverse("members:desk"), {"q": "81234"}))
    assert member.number in html
    audit = PiiAccess.objects.get(user=desk)
    assert audit.customer_id == member.customer_id and audit.identity_type == "search:digits"


def test_nothing_found_says_so(client, desk, rules):
    client.force_login(desk)
    html = _rows(client.get(reverse("members:desk"), {"q": "8000000000"}))
    assert 'data-testid="empty-state"' in html


def test_the_desk_needs_the_member_permission(client, unit_a, make_member):
    member = make_member()
    client.force_login(UserFactory(roles=[SALES_REP], units=[unit_a]))
    assert client.get(reverse("members:desk")).status_code == 403
    assert client.get(reverse("members:member", args=[member.pk])).status_code == 403


def test_search_query_count_is_constant(client, desk, make_member, django_assert_num_queries):
    for _ in range(3):
        make_member(attributes={"display_name": "王芳"})
    client.force_login(desk)
    url = reverse("members:desk")
    client.get(url, {"q": "王芳"})
    # session, user, permissions; the members with their phones
    with django_assert_num_queries(3) as few:
        client.get(url, {"q": "王芳"})
    for _ in range(6):
        make_member(attributes={"display_name": "王芳"})
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url, {"q": "王芳"})


def _earn(member, unit, n, start=0):
    for i in range(start, start + n):
        services.earn_points(member=member, business_unit=unit, reference=f"O-{i}", amount=100)


def test_member_page_shows_summary_lots_ledger(client, desk, make_member, unit_a):
    member = make_member(phone="+8613500001234")
    _earn(member, unit_a, 3)
    services.redeem_points(member=member, business_unit=unit_a, points=50, reference="R-1")
    client.force_login(desk)
    response = client.get(reverse("members:member", args=[member.pk]))
    html = _rows(response)
    assert response.status_code == 200
    assert 'data-testid="member-balance">250<' in html
    assert html.count('data-testid="lot-row"') == 3
    assert html.count('data-testid="ledger-row"') == 4
    assert 'data-testid="level-progress-bar"' in html
    assert "135****1234" in html and "13500001234" not in html


def test_ledger_filters_by_type_and_unit_and_pages_by_keyset(
    client, desk, make_member, unit_a, unit_b
):
    member = make_member()
    _earn(member, unit_a, 30)
    _earn(member, unit_b, 2, start=100)
    client.force_login(desk)
    url = reverse("members:member", args=[member.pk])
    html = _rows(client.get(url, {"unit": unit_b.pk}))
    assert html.count('data-testid="ledger-row"') == 2
    html = _rows(client.get(url, {"kind": "redeem"}))
    assert 'data-testid="ledger-row"' not in html
    first = client.get(url, {"unit": unit_a.pk})
    assert first.context["page"].ledger.next_cursor
    second = client.get(url, {"unit": unit_a.pk, "after": first.context["page"].ledger.next_cursor})
    assert len(second.context["page"].ledger.rows) == 5
    fragment = client.get(url, {"part": "ledger", "kind": "earn"}, HTTP_HX_REQUEST="true")
    assert _rows(fragment).startswith('<div class="card" id="member-ledger"')


def test_member_page_query_count_does_not_grow_with_the_ledger(
    client, desk, make_member, unit_a, django_assert_num_queries
):
    member = make_member()
    _earn(member, unit_a, 3)
    client.force_login(desk)
    url = reverse("members:member", args=[member.pk])
    client.get(url)
    with django_assert_num_queries(14) as few:
        client.get(url)
    _earn(member, unit_a, 40, start=10)
    services.redeem_points(member=member, business_unit=unit_a, points=5, reference="R-9")
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)


def test_expiring_points_within_30_days_are_shown(client, desk, make_member, unit_a):
    from datetime import timedelta

    from django.utils import timezone

    member = make_member()
    services.apply_adjustment(
        member=member,
        business_unit=unit_a,
        points=70,
        reason="opening balance",
        actor=desk,
        expires_at=timezone.now() + timedelta(days=10),
    )
    client.force_login(desk)
    html = _rows(client.get(reverse("members:member", args=[member.pk])))
    assert 'data-testid="member-expiring">70<' in html


def test_a_merged_member_leads_to_the_survivor(client, desk, make_member):
    from crm.services import merge_customers

    survivor, loser = make_member(), make_member()
    merge_customers(survivor=survivor.customer, loser=loser.customer, actor=None, reason="same")
    client.force_login(desk)
    response = client.get(reverse("members:member", args=[loser.pk]))
    assert response.status_code == 302
    assert response.url == reverse("members:member", args=[survivor.pk])


def test_search_skips_newer_customers_who_are_not_members(desk, make_member):
    """The limit is taken before the join (``find_members``): candidates are the newest
    matching customers, checked for a membership one by one, so a crowd of newer customers
    with the same name or phone digits who never enrolled does not hide the members."""
    from crm.services import IdentityInput, resolve_customer
    from members.selectors.desk import desk_search

    members = [
        make_member(phone=f"+861390000{n:04d}", attributes={"display_name": "司马懿"})
        for n in (1, 2)
    ]
    for n in range(3, 15):  # newer customers, same name and digits, never enrolled
        resolve_customer(
            identities=[IdentityInput("mobile", f"+861390000{n:04d}")],
            attributes={"display_name": "司马懿"},
            source="test",
        )
    for query in ("司马", "0000"):
        found = desk_search(user=desk, query=query, limit=3)
        assert [row.member.pk for row in found.rows] == [m.pk for m in reversed(members)]
        assert [row.phone_masked for row in found.rows] == ["139****0002", "139****0001"]
