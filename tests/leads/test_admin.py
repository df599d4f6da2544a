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
