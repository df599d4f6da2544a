"""The registries that keep the layers apart: housekeeping steps registered from above the
services run in the housekeeping job, and job kinds are read by the models from crm.job_kinds."""

from __future__ import annotations

import pytest
from django.utils import translation

from crm import job_kinds, registry, services
from crm.models import Job
from crm.registry import HousekeepingStep, housekeeping_steps, register_housekeeping


@pytest.fixture
def extra_step(monkeypatch):
    monkeypatch.setattr(registry, "_housekeeping", dict(registry._housekeeping))
    calls = []

    def purge() -> int:
        calls.append(1)
        return 3

    register_housekeeping(
        HousekeepingStep("widgets_deleted", "Old widgets deleted", "Deleting old widgets", purge)
    )
    return calls


def test_the_crm_registers_the_imports_upload_purge():
    assert "uploads_deleted" in {step.key for step in housekeeping_steps()}


@pytest.mark.django_db
def test_a_registered_step_runs_in_housekeeping_and_is_labelled(
    admin_user, extra_step, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.start_job(kind="crm.housekeeping", user=admin_user)
    job = Job.objects.get(pk=job.pk)
    assert extra_step == [1]
    assert job.result["widgets_deleted"] == 3 and job.result["uploads_deleted"] == 0
    with translation.override("zh-hans"):
        labels = dict((str(label), value) for label, value in job.result_items)
    assert labels["Old widgets deleted"] == 3
    assert labels["已删除的过期限流计数"] == 0


def test_the_models_label_jobs_from_the_job_kind_registry(monkeypatch):
    monkeypatch.setattr(job_kinds, "_REGISTRY", dict(job_kinds._REGISTRY))
    job_kinds.register_job_kind(job_kinds.JobKind("tests.kind", "A test kind", print, {"n": "N"}))
    job = Job(kind="tests.kind", result={"n": 2, "errors": [1]})
    assert job.label == "A test kind" and job.result_items == [("N", 2)]
    assert Job(kind="tests.unknown").label == "tests.unknown"
