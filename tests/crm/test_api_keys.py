"""Partner API keys: one unit, scopes, shown once, stored hashed, revocable, expiring."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.utils import timezone

from crm import services
from crm.errors import DomainError
from crm.models import ApiKey
from tests.conftest import key_client

pytestmark = pytest.mark.django_db


def test_key_is_stored_hashed_and_authenticates(issue_key, unit_a):
    api_key, raw = issue_key(unit_a, ["business_units:read"])
    assert raw.startswith(f"crm_{api_key.prefix}_")
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert raw not in (stored.hashed_key, stored.prefix)
    assert stored.hashed_key == ApiKey.hash(raw)
    response = key_client(raw).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["kind"] == "api_key"
    assert response.json()["business_units"] == ["AUTO"]


def test_missing_scope_is_refused_with_403(issue_key, unit_a):
    _, raw = issue_key(unit_a, ["business_units:read"])
    response = key_client(raw).get("/api/v1/jobs/")
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert "jobs:read" in response.json()["detail"]


def test_key_cannot_use_user_only_endpoints(issue_key, unit_a):
    _, raw = issue_key(unit_a, ["business_units:read"])
    response = key_client(raw).post(
        "/api/v1/business-units/",
        {"code": "X", "name": "X"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert response.status_code == 403


def test_revoked_key_is_refused(issue_key, unit_a, admin_user):
    api_key, raw = issue_key(unit_a, ["business_units:read"])
    client = key_client(raw)
    assert client.get("/api/v1/me/").status_code == 200
    assert services.revoke_api_keys(keys=[api_key], actor=admin_user) == 1
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_revoked"
    assert response["WWW-Authenticate"] == "Api-Key"


def test_expired_key_is_refused(issue_key, unit_a):
    _, raw = issue_key(
        unit_a, ["business_units:read"], expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = key_client(raw).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_expired"


def test_unknown_and_malformed_keys_are_refused(issue_key, unit_a):
    api_key, raw = issue_key(unit_a, ["business_units:read"])
    for bad in (raw[:-2] + "xx", "nonsense", f"crm_{api_key.prefix}_"):
        response = key_client(bad).get("/api/v1/me/")
        assert response.status_code == 401, bad
        assert response.json()["code"] == "api_key_invalid"


def test_unknown_scope_is_rejected(unit_a):
    with pytest.raises(DomainError) as caught:
        services.issue_api_key(name="x", business_unit=unit_a, scopes=["everything:write"])
    assert caught.value.field == "scopes"


def test_admin_issues_a_key_and_shows_it_once(client, admin_user, unit_a):
    client.force_login(admin_user)
    response = client.post(
        "/admin/crm/apikey/add/",
        {
            "name": "Online shop",
            "business_unit": unit_a.pk,
            "scopes": ["business_units:read"],
            "rate": "",
        },
    )
    api_key = ApiKey.objects.get(name="Online shop")
    assert response.status_code == 302  # POST, redirect, GET: a reload cannot post again
    assert response["Location"] == f"/admin/crm/apikey/{api_key.pk}/issued/"
    response = client.get(response["Location"])
    assert response.status_code == 200
    raw = response.context["raw_key"]
    assert raw in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert api_key.created_by == admin_user and api_key.hashed_key == ApiKey.hash(raw)
    change_page = client.get(f"/admin/crm/apikey/{api_key.pk}/change/").content.decode()
    assert raw not in change_page


def test_reloading_the_issued_key_page_issues_nothing_and_hides_the_secret(
    client, admin_user, unit_a
):
    client.force_login(admin_user)
    form = {"name": "POS", "business_unit": unit_a.pk, "scopes": ["business_units:read"]}
    issued_url = client.post("/admin/crm/apikey/add/", form)["Location"]
    raw = client.get(issued_url).context["raw_key"]

    reloaded = client.get(issued_url, follow=True)  # the browser's refresh: a second GET

    assert ApiKey.objects.filter(name="POS").count() == 1
    html = reloaded.content.decode()
    assert raw not in html
    assert reloaded.redirect_chain[-1][0].endswith("/change/")
    assert "只在签发后显示一次" in html


def test_the_issued_key_page_of_another_key_shows_no_secret(client, admin_user, unit_a):
    client.force_login(admin_user)
    form = {"name": "POS", "business_unit": unit_a.pk, "scopes": ["business_units:read"]}
    client.post("/admin/crm/apikey/add/", form)
    other = services.issue_api_key(name="Shop", business_unit=unit_a, scopes=["customers:read"])
    response = client.get(f"/admin/crm/apikey/{other.api_key.pk}/issued/")
    assert response.status_code == 302 and response["Location"].endswith("/change/")
    assert client.session.get("crm.issued_api_key")  # still waiting for its own page


def test_admin_revocation_asks_for_confirmation_first(client, admin_user, issue_key, unit_a):
    api_key, _ = issue_key(unit_a, ["business_units:read"])
    client.force_login(admin_user)
    data = {"action": "revoke", ACTION_CHECKBOX_NAME: [api_key.pk]}
    response = client.post("/admin/crm/apikey/", data)
    assert response.status_code == 200 and "confirmed" in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked_at is None
    client.post("/admin/crm/apikey/", {**data, "confirmed": "yes"})
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None and api_key.revoked_by == admin_user
