"""One policy decides what a user sees: BU A's people get 404 for BU B, in UI and API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import BusinessUnit, Job
from crm.policy import visible_unit_ids
from crm.roles import AUDITOR, SALES_MANAGER
from tests.conftest import key_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_user_of_unit_a_gets_404_for_unit_b_in_the_web_ui(client, rep_a, unit_a, unit_b):
    client.force_login(rep_a)
    assert client.get(reverse("business-unit-detail", args=[unit_a.pk])).status_code == 200
    response = client.get(reverse("business-unit-detail", args=[unit_b.pk]))
    assert response.status_code == 404


def test_user_of_unit_a_gets_404_for_unit_b_in_the_api(api, rep_a, unit_a, unit_b):
    api.force_authenticate(rep_a)
    assert api.get(f"/api/v1/business-units/{unit_a.pk}/").status_code == 200
    response = api.get(f"/api/v1/business-units/{unit_b.pk}/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_a_missing_object_and_a_hidden_one_answer_alike(api, rep_a, unit_b):
    api.force_authenticate(rep_a)
    hidden = api.get(f"/api/v1/business-units/{unit_b.pk}/")
    missing = api.get("/api/v1/business-units/999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_lists_only_show_the_users_units(api, client, rep_a, unit_a, unit_b):
    api.force_authenticate(rep_a)
    codes = [u["code"] for u in api.get("/api/v1/business-units/").json()["results"]]
    assert codes == ["AUTO"]
    client.force_login(rep_a)
    page = client.get(reverse("business-unit-list")).content.decode()
    assert "星辰汽车" in page and "星辰物业" not in page


def test_admins_and_superusers_see_every_unit(api, admin_user, unit_a, unit_b):
    assert visible_unit_ids(admin_user) is None
    api.force_authenticate(admin_user)
    assert api.get(f"/api/v1/business-units/{unit_b.pk}/").status_code == 200
    superuser = UserFactory(is_superuser=True)
    assert set(BusinessUnit.objects.visible_to(superuser)) == {unit_a, unit_b}


def test_an_auditor_reads_only_their_units(unit_a, unit_b):
    auditor = UserFactory(roles=[AUDITOR], units=[unit_b])
    assert list(BusinessUnit.objects.visible_to(auditor)) == [unit_b]


def test_an_api_key_sees_only_its_unit(issue_key, unit_a, unit_b):
    _, raw = issue_key(unit_a, ["business_units:read"])
    client = key_client(raw)
    assert client.get(f"/api/v1/business-units/{unit_a.pk}/").status_code == 200
    assert client.get(f"/api/v1/business-units/{unit_b.pk}/").status_code == 404


def test_jobs_of_another_unit_are_404_in_ui_and_api(client, api, rep_a, unit_b):
    other = UserFactory(roles=[SALES_MANAGER], units=[unit_b])
    job = Job.objects.create(kind="crm.housekeeping", business_unit=unit_b, created_by=other)
    client.force_login(rep_a)
    assert client.get(reverse("job-detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("job-progress", args=[job.pk])).status_code == 404
    api.force_authenticate(rep_a)
    assert api.get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    client.force_login(other)
    assert client.get(reverse("job-detail", args=[job.pk])).status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(client, unit_a):
    response = client.get(reverse("business-unit-detail", args=[unit_a.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
