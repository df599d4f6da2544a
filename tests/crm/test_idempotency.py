"""Idempotency-Key on POST: replay, reuse with another body, concurrent duplicates, expiry."""

from __future__ import annotations

import threading
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from crm import services
from crm.api.views import BusinessUnitViewSet
from crm.models import BusinessUnit, IdempotencyKey, Job
from tests.conftest import key_client

BODY = {"code": "NEWCO", "name": "新公司", "industry": "retail"}


@pytest.mark.django_db
def test_same_key_same_body_replays_the_stored_response(api, admin_user):
    api.force_authenticate(admin_user)
    first = api.post("/api/v1/business-units/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == 201
    second = api.post("/api/v1/business-units/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert BusinessUnit.objects.filter(code="NEWCO").count() == 1


@pytest.mark.django_db
def test_key_order_in_the_json_body_does_not_matter(api, admin_user):
    api.force_authenticate(admin_user)
    api.post("/api/v1/business-units/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k")
    reordered = dict(reversed(list(BODY.items())))
    again = api.post("/api/v1/business-units/", reordered, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_same_key_with_another_body_is_422(api, admin_user):
    api.force_authenticate(admin_user)
    api.post("/api/v1/business-units/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="abc-2")
    other = {**BODY, "code": "OTHER"}
    response = api.post(
        "/api/v1/business-units/", other, format="json", HTTP_IDEMPOTENCY_KEY="abc-2"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert not BusinessUnit.objects.filter(code="OTHER").exists()


@pytest.mark.django_db
def test_same_key_on_another_query_string_is_422(api, admin_user):
    api.force_authenticate(admin_user)
    api.post("/api/v1/business-units/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="q")
    response = api.post(
        "/api/v1/business-units/?dry_run=1", BODY, format="json", HTTP_IDEMPOTENCY_KEY="q"
    )
    assert response.status_code == 422


@pytest.mark.django_db
def test_keys_are_per_caller(api, admin_user):
    from tests.factories import UserFactory

    other_admin = UserFactory(is_superuser=True)
    api.force_authenticate(admin_user)
    api.post("/api/v1/business-units/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    api.force_authenticate(other_admin)
    response = api.post(
        "/api/v1/business-units/",
        {**BODY, "code": "SECOND"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="shared",
    )
    assert response.status_code == 201


@pytest.mark.django_db
def test_failed_requests_store_nothing_and_can_be_retried(api, admin_user):
    api.force_authenticate(admin_user)
    bad = api.post(
        "/api/v1/business-units/", {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="retry"
    )
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    good = api.post("/api/v1/business-units/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="retry")
    assert good.status_code == 201


@pytest.mark.django_db
def test_api_keys_must_send_an_idempotency_key(issue_key, unit_a, rep_a):
    api_key, raw = issue_key(unit_a, ["jobs:read", "jobs:write"])
    job = Job.objects.create(kind="crm.housekeeping", business_unit=unit_a, api_key=api_key)
    client = key_client(raw)
    response = client.post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"
    first = client.post(f"/api/v1/jobs/{job.pk}/cancel/", HTTP_IDEMPOTENCY_KEY="c1")
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    replay = client.post(f"/api/v1/jobs/{job.pk}/cancel/", HTTP_IDEMPOTENCY_KEY="c1")
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    # a new key runs the action again, which now refuses: the job has finished
    again = client.post(f"/api/v1/jobs/{job.pk}/cancel/", HTTP_IDEMPOTENCY_KEY="c2")
    assert again.status_code == 409 and again.json()["code"] == "job_already_finished"


@pytest.mark.django_db
def test_overlong_key_is_rejected(api, admin_user):
    api.force_authenticate(admin_user)
    response = api.post(
        "/api/v1/business-units/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256
    )
    assert response.status_code == 400 and response.json()["code"] == "idempotency_key_invalid"


@pytest.mark.django_db
def test_keys_expire_after_24_hours(api, admin_user):
    api.force_authenticate(admin_user)
    api.post("/api/v1/business-units/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="old")
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert services.purge_idempotency_keys() == 1
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_an_expired_key_not_yet_purged_is_treated_as_new(api, admin_user):
    api.force_authenticate(admin_user)
    api.post("/api/v1/business-units/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="stale")
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        response = api.post(
            "/api/v1/business-units/",
            {**BODY, "code": "LATER"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="stale",
        )
    assert response.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_one_applies_the_other_gets_409(admin_user):
    """Two threads, two connections, same key at the same time: one 201, one 409."""
    entered, release = threading.Event(), threading.Event()
    original = BusinessUnitViewSet.perform_create

    def slow_create(self, serializer):
        entered.set()
        release.wait(10)
        return original(self, serializer)

    results: dict[str, int] = {}

    def post(name: str) -> None:
        client = APIClient()
        client.force_authenticate(admin_user)
        try:
            response = client.post(
                "/api/v1/business-units/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="dup"
            )
            results[name] = response.status_code
            if response.status_code == 409:
                results["code"] = response.json()["code"]  # type: ignore[assignment]
        finally:
            connection.close()

    with mock.patch.object(BusinessUnitViewSet, "perform_create", slow_create):
        first = threading.Thread(target=post, args=("first",))
        first.start()
        assert entered.wait(10)
        second = threading.Thread(target=post, args=("second",))
        second.start()
        second.join(10)
        release.set()
        first.join(10)
    assert results["first"] == 201
    assert results["second"] == 409
    assert results["code"] == "idempotency_key_in_progress"
    assert BusinessUnit.objects.filter(code="NEWCO").count() == 1
    assert IdempotencyKey.objects.filter(key="dup").count() == 1


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_duplicates_apply_exactly_once(admin_user):
    """Ten threads released together: the unit is created once, every answer is 201 or 409."""
    barrier = threading.Barrier(10)
    statuses: list[int] = []

    def post() -> None:
        client = APIClient()
        client.force_authenticate(admin_user)
        barrier.wait(10)
        try:
            statuses.append(
                client.post(
                    "/api/v1/business-units/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="storm"
                ).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(statuses) == 10
    assert set(statuses) <= {201, 409}
    assert BusinessUnit.objects.filter(code="NEWCO").count() == 1
