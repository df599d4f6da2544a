"""What fuzzing the API found, each as the smallest request that showed it (see
``test_fuzz_api.py``): an invalid input is a 4xx problem, never a 500."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from crm import services
from crm.models import Job
from tests.conftest import key_client

pytestmark = pytest.mark.django_db


def forged_cursor(position: str) -> str:
    return base64.b64encode(urlencode({"p": position}).encode()).decode()


def assert_problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    ("path", "position"),
    [
        ("/api/v1/transactions/", "garbage"),  # ordered by a datetime
        ("/api/v1/jobs/", "garbage"),
        ("/api/v1/jobs/", "0001-01-01T00:00:00+08:00"),  # before year 1 in UTC
        ("/api/v1/jobs/", "9999-12-31T23:59:59-08:00"),  # after year 9999 in UTC
        ("/api/v1/business-units/", "A\x00B"),  # a NUL byte PostgreSQL refuses
    ],
)
def test_a_forged_cursor_is_an_invalid_cursor_not_a_500(api, admin_user, path, position):
    api.force_authenticate(admin_user)
    response = api.get(path, {"cursor": forged_cursor(position)})
    assert_problem(response, 404, "not_found")


def test_a_cursor_the_api_made_still_pages(api, admin_user):
    now = timezone.now()
    for minutes in range(3):
        job = Job.objects.create(kind="crm.housekeeping", created_by=admin_user)
        Job.objects.filter(pk=job.pk).update(created_at=now - timedelta(minutes=minutes))
    api.force_authenticate(admin_user)
    first = api.get("/api/v1/jobs/", {"page_size": 2}).json()
    second = api.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 1
    assert {j["id"] for j in first["results"]}.isdisjoint(j["id"] for j in second["results"])


@pytest.mark.parametrize("bad", ["crm_a\x00b_secret", "crm_é_secret", "crm__secret", "crm_ab"])
def test_a_malformed_api_key_is_refused_before_any_query(unit_a, bad):
    services.issue_api_key(name="POS", business_unit=unit_a, scopes=["business_units:read"])
    response = key_client(bad).get("/api/v1/me/")
    assert_problem(response, 401, "api_key_invalid")


def test_a_well_formed_key_still_signs_in(issue_key, unit_a):
    _, raw = issue_key(unit_a, ["business_units:read"])
    assert key_client(raw).get("/api/v1/me/").json()["kind"] == "api_key"
