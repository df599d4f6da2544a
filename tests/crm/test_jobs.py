"""Background jobs: run, progress, cancellation, failure, and a real worker on a real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.celery import app as celery_app
from crm.jobs import JobContext, job_handler, run_job
from crm.models import Job, JobStatus
from crm.roles import SALES_MANAGER
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def start(django_capture_on_commit_callbacks):
    """``services.start_job`` with its on-commit enqueue run (Celery is eager in tests)."""

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return services.start_job(**kwargs)

    return run


@job_handler("tests.steps", label="Test steps")
def _steps(ctx: JobContext) -> dict[str, int]:
    for step in range(1, 5):
        ctx.progress(step * 25, f"step {step}")
    return {"steps": 4}


@job_handler("tests.boom", label="Test failure")
def _boom(ctx: JobContext) -> None:
    ctx.progress(30, "about to fail")
    raise ValueError("the input file has no header row")


@pytest.mark.django_db
def test_start_job_runs_to_completion_with_progress(admin_user, start):
    job = start(kind="tests.steps", user=admin_user)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.progress == 100 and job.result == {"steps": 4}
    assert job.started_at and job.finished_at and job.created_by == admin_user


@pytest.mark.django_db
def test_a_failing_job_records_its_error(admin_user, start):
    job = start(kind="tests.boom", user=admin_user)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "no header row" in job.traceback and job.progress == 30
    assert job.error == "内部错误，请查看任务日志。" or job.error.startswith("Internal error")


@pytest.mark.django_db
def test_running_a_job_twice_is_harmless(admin_user, start):
    job = start(kind="tests.steps", user=admin_user)
    assert run_job(job.pk) == JobStatus.SUCCEEDED  # at-least-once delivery: second run is a no-op
    job.refresh_from_db()
    assert job.result == {"steps": 4}


@pytest.mark.django_db
def test_unknown_kind_is_refused(admin_user):
    with pytest.raises(services.UnknownJobKind):
        services.start_job(kind="nope", user=admin_user)


@pytest.mark.django_db
def test_cancelling_a_queued_job(admin_user):
    job = Job.objects.create(kind="tests.steps", created_by=admin_user)
    services.request_job_cancel(job=job)
    assert run_job(job.pk) == JobStatus.CANCELLED
    with pytest.raises(services.JobAlreadyFinished):
        services.request_job_cancel(job=job)


@pytest.mark.django_db
def test_a_running_job_stops_at_its_next_step(admin_user):
    job = Job.objects.create(kind="tests.steps", created_by=admin_user, status=JobStatus.RUNNING)
    services.request_job_cancel(job=job)
    job.refresh_from_db()
    assert job.cancel_requested and job.status == JobStatus.RUNNING
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    assert run_job(job.pk) == JobStatus.CANCELLED


@pytest.mark.django_db
def test_housekeeping_purges_old_finished_jobs(admin_user, start):
    old = Job.objects.create(
        kind="tests.steps",
        status=JobStatus.SUCCEEDED,
        finished_at=timezone.now() - timedelta(days=91),
    )
    recent = Job.objects.create(
        kind="tests.steps", status=JobStatus.SUCCEEDED, finished_at=timezone.now()
    )
    job = start(kind="crm.housekeeping", user=admin_user)
    job.refresh_from_db()
    assert job.result == {
        "idempotency_keys_deleted": 0,
        "exports_deleted": 0,
        "jobs_deleted": 1,
        "uploads_deleted": 0,
        "error_reports_deleted": 0,
        "rate_counters_deleted": 0,
    }
    assert not Job.objects.filter(pk=old.pk).exists() and Job.objects.filter(pk=recent.pk).exists()


@pytest.mark.django_db
def test_progress_component_polls_until_the_job_finishes(client, admin_user):
    job = Job.objects.create(
        kind="tests.steps", created_by=admin_user, status=JobStatus.RUNNING, progress=40
    )
    client.force_login(admin_user)
    html = client.get(reverse("job-progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html and 'aria-valuenow="40"' in html
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED, progress=100, finished_at=timezone.now()
    )
    html = client.get(reverse("job-progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in html and 'aria-valuenow="100"' in html


@pytest.mark.django_db
def test_job_api_reports_status_and_progress(api, admin_user, start):
    job = start(kind="tests.steps", user=admin_user)
    api.force_authenticate(admin_user)
    body = api.get(f"/api/v1/jobs/{job.pk}/").json()
    assert (
        body["status"] == "succeeded" and body["progress"] == 100 and body["result"] == {"steps": 4}
    )


@pytest.mark.django_db
def test_web_ui_starts_and_cancels_jobs(client, unit_a):
    manager = UserFactory(roles=[SALES_MANAGER], units=[unit_a])
    client.force_login(manager)
    response = client.post(reverse("job-start-housekeeping"))
    job = Job.objects.get(kind="crm.housekeeping")
    assert response["Location"] == reverse("job-detail", args=[job.pk])
    queued = Job.objects.create(kind="tests.steps", created_by=manager)
    client.post(reverse("job-cancel", args=[queued.pk]))
    queued.refresh_from_db()
    assert queued.status == JobStatus.CANCELLED


def _database_url_for(name: str) -> str:
    url = os.environ["DATABASE_URL"]
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return f"{base}?{query}" if query else base


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_runs_a_job_from_the_broker(admin_user):
    """The job goes through the configured broker (Redis in CI, the filesystem locally) to a
    separate worker process connected to the test database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "DEBUG": "true",
        "DATABASE_URL": _database_url_for(connection.settings_dict["NAME"]),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crm",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    celery_app.conf.task_always_eager = False
    try:
        job = services.start_job(kind="crm.housekeeping", user=admin_user)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.is_finished or worker.poll() is not None:
                break
            time.sleep(0.25)
    finally:
        celery_app.conf.task_always_eager = True
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    assert job.status == JobStatus.SUCCEEDED, output
    assert job.result == {
        "idempotency_keys_deleted": 0,
        "exports_deleted": 0,
        "jobs_deleted": 0,
        "uploads_deleted": 0,
        "error_reports_deleted": 0,
        "rate_counters_deleted": 0,
    }
    assert job.started_at is not None


@pytest.mark.django_db
def test_failure_shows_people_a_plain_message_and_keeps_the_traceback_for_admins(admin_user, start):
    job = start(kind="tests.boom", user=admin_user)
    job.refresh_from_db()
    assert "Traceback" not in job.error and "ValueError" in job.traceback


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_failed_after_the_stale_timeout(admin_user, settings):
    from crm.jobs import fail_stale_jobs

    now = timezone.now()
    stale = Job.objects.create(
        kind="tests.steps", status=JobStatus.RUNNING, started_at=now, updated_at=now
    )
    assert fail_stale_jobs(now=now + settings.JOB_STALE_AFTER / 2) == 0
    assert fail_stale_jobs(now=now + settings.JOB_STALE_AFTER * 2) == 1
    stale.refresh_from_db()
    assert stale.status == JobStatus.FAILED and stale.finished_at is not None


@pytest.mark.django_db
def test_only_the_starter_or_an_administrator_may_cancel(client, api, unit_a, admin_user):
    from crm.roles import AUDITOR, SALES_REP

    manager = UserFactory(roles=[SALES_MANAGER], units=[unit_a])
    job = Job.objects.create(kind="tests.steps", created_by=manager, business_unit=unit_a)
    for role in (AUDITOR, SALES_REP):
        other = UserFactory(roles=[role], units=[unit_a])
        client.force_login(other)
        assert client.get(reverse("job-detail", args=[job.pk])).status_code == 200
        assert client.post(reverse("job-cancel", args=[job.pk])).status_code == 403
        api.force_authenticate(other)
        assert api.post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == 403
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    api.force_authenticate(admin_user)
    assert api.post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == 200


@pytest.mark.django_db
def test_partners_see_only_the_jobs_their_key_started(issue_key, unit_a, admin_user):
    from tests.conftest import key_client

    api_key, raw = issue_key(unit_a, ["jobs:read", "jobs:write"])
    mine = Job.objects.create(kind="tests.steps", api_key=api_key, business_unit=unit_a)
    Job.objects.create(kind="tests.steps", created_by=admin_user, business_unit=unit_a)
    ids = [j["id"] for j in key_client(raw).get("/api/v1/jobs/").json()["results"]]
    assert ids == [str(mine.pk)]


@pytest.mark.django_db
def test_job_list_api_is_newest_first_with_constant_queries(
    api, admin_user, django_assert_num_queries
):
    for _ in range(20):
        Job.objects.create(kind="tests.steps", created_by=admin_user)
    api.force_authenticate(admin_user)
    with django_assert_num_queries(3):  # the throttle's counter, admin role check, the page
        body = api.get("/api/v1/jobs/").json()
    created = [j["created_at"] for j in body["results"]]
    assert created == sorted(created, reverse=True) and len(created) == 20
