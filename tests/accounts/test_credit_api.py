"""The partner credit look-up: by USCC and by id, the scope, the unit's accounts only (404
otherwise), nothing internal in the answer, one query per look-up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Account
from crm import services as crm_services
from crm.models import BusinessUnit, User
from crm.roles import DATA_STEWARD, MEMBER_SERVICE, SALES_MANAGER
from tests.accounts.conftest import make_uscc
from tests.conftest import key_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/accounts/credit"


@pytest.fixture
def rated(make_account: Callable[..., Account], rep_a: User) -> Account:
    account = make_account("星辰科技有限公司", uscc=make_uscc(42))
    for kind in ("credit_report", "operations"):  # 50 + 15 + 10 = 75 → A
        services.add_credit_evidence(
            account=account,
            user=rep_a,
            kind=kind,
            effect="positive",
            source="内部秘密来源",
            observed_on=timezone.localdate() - timedelta(days=3),
            value="内部数值",
            note="内部备注",
        )
    return account


@pytest.fixture
def partner(issue_key, unit_a: BusinessUnit) -> APIClient:
    return key_client(issue_key(unit_a, ["accounts:read"])[1])


def test_lookup_by_uscc_and_by_id_give_the_same_answer(
    rated: Account, partner: APIClient, django_assert_num_queries
):
    uscc = make_uscc(42)
    spaced = f"{uscc[:6]} {uscc[6:12]}-{uscc[12:]}".lower()
    by_uscc = partner.get(f"{BASE}/lookup/", {"uscc": spaced})
    assert by_uscc.status_code == 200, by_uscc.content
    assert by_uscc.json() == {
        "account": rated.pk,
        "customer": rated.customer_id,
        "rating": "A",
        "credit_limit": "1000000.00",
        "currency": "CNY",
        "blacklist": {"active": False, "since": None},
    }
    partner.get(f"{BASE}/{rated.pk}/")  # warm the key's cache
    with django_assert_num_queries(2):  # the key with its throttle count (one), the look-up
        by_id = partner.get(f"{BASE}/{rated.pk}/")
    assert by_id.json() == by_uscc.json()


def test_blacklisted_account_reads_limit_zero_and_since_when_but_nothing_internal(
    rated: Account, partner: APIClient, unit_a: BusinessUnit
):
    proposer = UserFactory(roles=[SALES_MANAGER], units=[unit_a])
    approver = UserFactory(roles=[DATA_STEWARD], units=[unit_a])
    entry = crm_services.propose_blacklisting(
        customer=rated.customer, user=proposer, reason="fraud", evidence="伪造合同编号XYZ"
    )
    entry = crm_services.approve_blacklisting(entry=entry, user=approver, comment="属实")

    body = partner.get(f"{BASE}/{rated.pk}/").json()

    assert body["credit_limit"] == "0.00" and body["rating"] == "A"
    assert body["blacklist"]["active"] is True
    assert body["blacklist"]["since"].startswith(timezone.localdate().isoformat())
    text = str(body)
    for secret in ("伪造合同", "fraud", "属实", proposer.username, "内部", "score", "evidence"):
        assert secret not in text


def test_scope_is_required(rated: Account, issue_key, unit_a: BusinessUnit):
    client = key_client(issue_key(unit_a, ["customers:read"])[1])
    response = client.get(f"{BASE}/{rated.pk}/")
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_other_units_account_is_404_for_a_key_and_a_user(
    make_account: Callable[..., Account],
    rep_b: User,
    unit_b: BusinessUnit,
    partner: APIClient,
    rep_a: User,
):
    theirs = make_account("乙方公司", unit=unit_b, user=rep_b, uscc=make_uscc(77))
    services.add_credit_evidence(
        account=theirs,
        user=rep_b,
        kind="registration",
        effect="positive",
        source="工商",
        observed_on=timezone.localdate(),
    )
    assert partner.get(f"{BASE}/{theirs.pk}/").status_code == 404
    assert partner.get(f"{BASE}/lookup/", {"uscc": make_uscc(77)}).status_code == 404
    staff = APIClient()
    staff.force_authenticate(rep_a)
    assert staff.get(f"{BASE}/{theirs.pk}/").status_code == 404


def test_unassessed_account_and_bad_uscc(make_account: Callable[..., Account], partner: APIClient):
    plain = make_account("新公司", uscc=make_uscc(5))
    body = partner.get(f"{BASE}/lookup/", {"uscc": make_uscc(5)}).json()
    assert body["rating"] is None and body["credit_limit"] == "0.00"
    bad = partner.get(f"{BASE}/lookup/", {"uscc": "91310000XXXXXXXXX1"})
    assert bad.status_code == 400 and "uscc" in bad.json()["errors"]
    assert partner.get(f"{BASE}/lookup/").status_code == 400
    assert partner.get(f"{BASE}/{plain.pk + 1000}/").status_code == 404


def test_signed_in_user_needs_the_view_permission(rated: Account, unit_a: BusinessUnit):
    desk = UserFactory(roles=[MEMBER_SERVICE], units=[unit_a])
    client = APIClient()
    client.force_authenticate(desk)
    assert client.get(f"{BASE}/{rated.pk}/").status_code == 403
