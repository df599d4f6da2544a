"""Journeys: watching a background job's progress; an administrator issuing and revoking a key."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from crm.demo import DEMO_PASSWORD, load_platform_demo
from crm.models import ApiKey, Job, JobStatus, User
from tests.e2e.conftest import shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, username: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()


def test_progress_bar_follows_a_running_job_until_it_finishes(page):
    from playwright.sync_api import expect

    load_platform_demo()
    manager = User.objects.get(username="manager")
    job = Job.objects.create(
        kind="crm.housekeeping",
        created_by=manager,
        status=JobStatus.RUNNING,
        progress=40,
        message="Purging finished jobs older than 90 days",
    )
    sign_in(page, "manager")
    page.goto(f"/jobs/{job.pk}/")
    bar = page.get_by_test_id("job-progress")
    expect(bar).to_have_attribute("aria-valuenow", "40")
    shoot(page, "job-running-zh")

    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED,
        progress=100,
        finished_at=timezone.now(),
        result={"idempotency_keys_deleted": 3, "jobs_deleted": 12},
    )
    expect(page.get_by_test_id("job-status")).to_have_text("已完成", timeout=10000)
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("job-cancel")).to_have_count(0)
    shoot(page, "job-finished-zh")


def test_cancelling_a_job_asks_for_confirmation(page):
    from playwright.sync_api import expect

    load_platform_demo()
    job = Job.objects.create(
        kind="crm.housekeeping", created_by=User.objects.get(username="manager")
    )
    sign_in(page, "manager")
    page.goto(f"/jobs/{job.pk}/")
    page.get_by_test_id("job-cancel").click()
    modal = page.get_by_test_id("confirm-modal")
    expect(modal).to_be_visible()
    shoot(page, "confirm-cancel-zh")
    page.get_by_test_id("confirm-no").click()
    expect(modal).to_be_hidden()
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED  # declining changed nothing
    page.get_by_test_id("job-cancel").click()
    page.get_by_test_id("confirm-yes").click()
    expect(page.get_by_test_id("job-status")).to_have_text("已取消")
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_admin_issues_a_key_sees_it_once_and_revokes_it(page):
    from playwright.sync_api import expect

    load_platform_demo()
    sign_in(page, "admin")
    page.goto("/admin/crm/apikey/add/")
    page.fill("input[name=name]", "超市 POS")
    page.locator(".select2-selection").first.click()
    page.locator(".select2-search__field").fill("MART")
    page.locator(".select2-results__option", has_text="MART").click()
    page.check("input[name=scopes][value='business_units:read']")
    page.locator("input[name=_save]").click()
    raw = page.get_by_test_id("raw-key").input_value()
    assert re.fullmatch(r"crm_[0-9a-f]{8}_[A-Za-z0-9_-]{40,}", raw)
    shoot(page, "admin-key-issued-zh")
    api_key = ApiKey.objects.get(name="超市 POS")
    assert api_key.business_unit.code == "MART" and api_key.hashed_key == ApiKey.hash(raw)

    page.goto("/admin/crm/apikey/")
    page.locator(f"input[name=_selected_action][value='{api_key.pk}']").check()
    page.select_option("select[name=action]", "revoke")
    page.locator("button[name=index]").click()
    expect(page.get_by_test_id("confirm-question")).to_be_visible()
    shoot(page, "admin-revoke-confirm-zh")
    page.get_by_test_id("confirm-action-yes").click()
    expect(page.locator(".messagelist")).to_contain_text("1")
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
