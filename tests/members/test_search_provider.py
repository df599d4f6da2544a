"""Members in the global search box: by member number, the last four digits of a phone, 1–2
characters of a name; phones masked (the programme is group-wide: staff see every unit's
members, as at the desk); a constant number of queries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import PiiAccess
from crm.roles import SALES_REP
from crm.services.pii import pii_search_digest
from members.web.desk import search_provider
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(make_member, unit_a, unit_b):
    mine = make_member(phone="+8613800005678", attributes={"display_name": "欧阳明月"})
    theirs = make_member(
        unit=unit_b, phone="+8613900005678", attributes={"display_name": "欧阳明月"}
    )
    return mine, theirs


def test_number_phone_fragment_and_name_find_the_member_masked(client, desk, two):
    mine, theirs = two
    client.force_login(desk)
    url = reverse("members:member", args=[mine.pk])
    for query in (mine.number, "5678", "明月", "欧阳"):
        html = client.get(reverse("search"), {"q": query}).content.decode()
        assert url in html, query
        assert "13800005678" not in html and "138****5678" in html
        assert mine.number in html
        if query != mine.number:  # a fragment or a name finds the other unit's member too
            assert reverse("members:member", args=[theirs.pk]) in html
    recorded = PiiAccess.objects.filter(search=pii_search_digest("5678"), user=desk)
    assert recorded.filter(customer=mine.customer).exists()  # the fragment was audited


def test_query_count_is_constant(desk, make_member, django_assert_num_queries):
    for n in range(12):
        make_member(phone=f"+861380000{n:04d}", attributes={"display_name": "欧阳明月"})
    desk.get_all_permissions()  # loaded once per request by the views before any provider
    with django_assert_num_queries(1):  # the members with their phones
        found = search_provider(desk, "明月", 10)
    assert len(found) == 10
    with django_assert_num_queries(1):
        assert len(search_provider(desk, "欧阳", 3)) == 3


def test_without_the_permission_there_is_no_members_group(client, unit_a, two):
    rep = UserFactory(username="rep", roles=[SALES_REP], units=[unit_a])
    client.force_login(rep)
    html = client.get(reverse("search"), {"q": two[0].number}).content.decode()
    assert reverse("members:member", args=[two[0].pk]) not in html
