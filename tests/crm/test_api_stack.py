"""What every API request pays before its view: the statements of authentication (an API key,
or a session's user with permissions, roles and units) and of the throttle, each saved one
shown to keep its guarantee."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from crm.api import authentication
from crm.auth_backends import CrmModelBackend
from crm.models import ApiKey, RateCounter
from crm.policy import visible_unit_ids
from crm.roles import ADMIN, SALES_REP
from tests.conftest import key_client
from tests.factories import BusinessUnitFactory, UserFactory

pytestmark = pytest.mark.django_db


def _sql(captured: Any) -> list[str]:
    return [q["sql"] for q in captured.captured_queries]


# --- A session's user ------------------------------------------------------------------------


def test_a_session_call_reads_the_user_with_permissions_and_units_in_one_statement(
    rep_a: Any, unit_b: Any, django_assert_num_queries: Any
) -> None:
    rep_a.business_units.add(unit_b)
    client = Client()
    client.force_login(rep_a, backend="crm.auth_backends.CrmModelBackend")
    # The session; the user with permissions, roles, unread count and units; the throttle;
    # the units' codes. (6 before: the permissions and the units were one statement each.)
    with django_assert_num_queries(4) as captured:
        response = client.get("/api/v1/me/")
    assert response.status_code == 200, response.content
    assert sorted(response.json()["business_units"]) == ["AUTO", "PROP"]
    statements = _sql(captured)
    assert "auth_permission" in statements[1] and "crm_user_business_units" in statements[1]
    assert not any("auth_permission" in q or "crm_user_business_units" in q for q in statements[2:])


def test_the_user_read_in_one_statement_is_the_stock_backends_user(unit_a: Any, unit_b: Any):
    user = UserFactory(roles=[SALES_REP], units=[unit_a, unit_b])
    user.user_permissions.add(Permission.objects.get(codename="view_job"))
    got = CrmModelBackend().get_user(str(user.pk))
    stock = ModelBackend().get_user(user.pk)
    assert got is not None and stock is not None
    assert {f.attname: getattr(got, f.attname) for f in got._meta.concrete_fields} == {
        f.attname: getattr(stock, f.attname) for f in stock._meta.concrete_fields
    }
    assert not got._state.adding and got.get_session_auth_hash() == stock.get_session_auth_hash()
    assert got.get_all_permissions() == ModelBackend().get_all_permissions(stock)
    assert got.role_names() == {SALES_REP}
    assert visible_unit_ids(got) == {unit_a.pk, unit_b.pk}


def test_superusers_inactive_users_and_unknown_ids_as_the_stock_backend(unit_a: Any) -> None:
    boss = UserFactory(roles=[ADMIN], units=[unit_a], is_superuser=True)
    got = CrmModelBackend().get_user(boss.pk)
    # every permission, as Django answers for a superuser (not only the linked ones)
    assert got.get_all_permissions() == ModelBackend().get_all_permissions(
        ModelBackend().get_user(boss.pk)
    )
    assert got.role_names() == {ADMIN} and visible_unit_ids(got) is None
    gone = UserFactory(units=[unit_a], is_active=False)
    assert CrmModelBackend().get_user(gone.pk) is None
    assert CrmModelBackend().get_user(10**9) is None
    assert CrmModelBackend().get_user("not a number") is None


def test_a_changed_password_still_ends_the_session(rep_a: Any) -> None:
    client = Client()
    client.force_login(rep_a, backend="crm.auth_backends.CrmModelBackend")
    assert client.get("/api/v1/me/").status_code == 200
    rep_a.set_password("another-long-password")
    rep_a.save()
    assert client.get("/api/v1/me/").status_code in (401, 403)


# --- An API key ------------------------------------------------------------------------------


def test_an_api_key_call_reads_the_key_and_counts_the_hit_in_one_statement(
    unit_a: Any, issue_key: Any, django_assert_num_queries: Any
) -> None:
    key, raw = issue_key(unit_a, ["business_units:read"])
    client = key_client(raw)
    client.get("/api/v1/me/")  # last_used_at is written at most once a minute
    # The key with its unit and the throttle's count; the unit's code. (3 before.)
    with django_assert_num_queries(2) as captured:
        response = client.get("/api/v1/me/")
    assert response.status_code == 200 and response.json()["business_units"] == ["AUTO"]
    assert "crm_ratecounter" in _sql(captured)[0]
    assert RateCounter.objects.get(key=f"api_key:{key.pk}").hits == 2


def test_a_wrong_secret_or_an_unusable_key_never_spends_the_keys_rate(
    unit_a: Any, issue_key: Any
) -> None:
    key, raw = issue_key(unit_a, ["business_units:read"], rate="2/min")
    forged = raw[: raw.rindex("_") + 1] + "x" * 20  # the right prefix, a wrong secret
    for _ in range(5):
        assert key_client(forged).get("/api/v1/me/").status_code == 401
    assert not RateCounter.objects.filter(key=f"api_key:{key.pk}").exists()
    client = key_client(raw)
    assert [client.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 429]
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert client.get("/api/v1/me/").json()["code"] == "api_key_revoked"
    assert RateCounter.objects.get(key=f"api_key:{key.pk}").hits == 3


def test_a_call_refused_for_its_scope_counts_against_the_rate(unit_a: Any, issue_key: Any):
    key, raw = issue_key(unit_a, ["customers:read"], rate="2/min")
    client = key_client(raw)
    assert client.get("/api/v1/me/").status_code == 403  # no business_units:read
    assert RateCounter.objects.get(key=f"api_key:{key.pk}").hits == 1


def test_a_throttle_counting_elsewhere_counts_after_the_key_as_before(
    unit_a: Any, issue_key: Any, monkeypatch: Any, django_assert_num_queries: Any
) -> None:
    """With Redis the key is read alone and the throttle counts in Redis (here: in
    PostgreSQL, as the fallback would): the same answers."""
    monkeypatch.setattr(authentication, "counts_in_database", lambda: False)
    key, raw = issue_key(unit_a, ["business_units:read"], rate="2/min")
    client = key_client(raw)
    client.get("/api/v1/me/")
    with django_assert_num_queries(3):
        assert client.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 429
    assert RateCounter.objects.get(key=f"api_key:{key.pk}").hits == 3


def test_a_key_of_an_inactive_unit_is_refused_and_not_counted(issue_key: Any) -> None:
    unit = BusinessUnitFactory(code="OFF")
    key, raw = issue_key(unit, ["business_units:read"])
    unit.is_active = False
    unit.save()
    response = key_client(raw).get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["code"] == "api_key_inactive"
    assert not RateCounter.objects.filter(key=f"api_key:{key.pk}").exists()
