"""The accounts admin writes through the services: a parent that closes a loop is a form
error; an account added there is resolved against the master by its USCC."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Account, Opportunity
from crm.models import BusinessUnit, Customer, User
from tests.accounts.conftest import make_uscc

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_zh(admin_user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(admin_user)
    return client


def _form(account: Account, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "industry": account.industry,
        "size_band": account.size_band,
        "status": account.status,
        "province": account.province,
        "city": account.city,
        "address": account.address,
        "website": account.website,
        "owner": account.owner_id or "",
        "parent": account.parent_id or "",
        "business_units": [u.pk for u in account.business_units.all()],
        "contacts-TOTAL_FORMS": 0,
        "contacts-INITIAL_FORMS": 0,
        "contacts-MIN_NUM_FORMS": 0,
        "contacts-MAX_NUM_FORMS": 1000,
    }
    data.update(changes)
    return data


def test_admin_refuses_a_parent_cycle(
    admin_client_zh: Client, make_account: Callable[..., Account], rep_a: User
):
    group, sub = make_account("集团"), make_account("子公司")
    services.set_parent(account=sub, parent=group, user=rep_a)
    url = reverse("admin:accounts_account_change", args=[group.pk])
    response = admin_client_zh.post(url, _form(group, parent=sub.pk))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parent"]
    group.refresh_from_db()
    assert group.parent_id is None
    # A valid change goes through the services.
    response = admin_client_zh.post(url, _form(group, city="杭州", status="active"))
    assert response.status_code == 302
    group.refresh_from_db()
    assert (group.city, group.status) == ("杭州", "active")


def test_admin_adds_an_account_through_resolution(admin_client_zh: Client, unit_a: BusinessUnit):
    uscc = make_uscc()
    data = {
        "uscc": uscc,
        "company_name": "星辰物流有限公司",
        "first_unit": unit_a.pk,
        "industry": "G",
        "size_band": "",
        "status": "prospect",
        "province": "",
        "city": "",
        "address": "",
        "website": "",
        "owner": "",
        "parent": "",
        "contacts-TOTAL_FORMS": 0,
        "contacts-INITIAL_FORMS": 0,
        "contacts-MIN_NUM_FORMS": 0,
        "contacts-MAX_NUM_FORMS": 1000,
    }
    response = admin_client_zh.post(reverse("admin:accounts_account_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    account = Account.objects.get()
    assert account.customer.display_name == "星辰物流有限公司"
    assert account.customer.identities.get().value == uscc
    assert list(account.business_units.all()) == [unit_a]
    bad = admin_client_zh.post(reverse("admin:accounts_account_add"), {**data, "uscc": "123"})
    assert bad.status_code == 200 and bad.context["adminform"].form.errors["uscc"]
    assert Customer.objects.count() == 1
    # Search by the USCC, exact.
    found = admin_client_zh.get(reverse("admin:accounts_account_changelist"), {"q": uscc})
    assert list(found.context["cl"].result_list) == [account]


def test_admin_requires_a_lost_reason(
    admin_client_zh: Client,
    make_account: Callable[..., Account],
    rep_a: User,
    unit_a: BusinessUnit,
    stages: dict,
):
    opp = services.create_opportunity(
        account=make_account(), name="机会", owner=rep_a, business_unit=unit_a, user=rep_a
    )
    url = reverse("admin:accounts_opportunity_change", args=[opp.pk])
    data = {
        "name": "机会",
        "owner": rep_a.pk,
        "amount": "100",
        "currency": "CNY",
        "stage": stages["lost"].pk,
        "lost_reason": "",
        "expected_close": "",
        "products": "",
        "notes": "",
        "stage_changes-TOTAL_FORMS": 0,
        "stage_changes-INITIAL_FORMS": 0,
        "stage_changes-MIN_NUM_FORMS": 0,
        "stage_changes-MAX_NUM_FORMS": 1000,
    }
    response = admin_client_zh.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["lost_reason"]
    response = admin_client_zh.post(url, {**data, "lost_reason": "价格"})
    assert response.status_code == 302
    opp = Opportunity.objects.get()
    assert opp.stage == stages["lost"] and opp.stage_changes.count() == 2
