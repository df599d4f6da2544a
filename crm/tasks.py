"""Celery entry points: thin wrappers around services. Every task is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from crm import services
from crm.jobs import fail_stale_jobs as _fail_stale_jobs
from crm.jobs import run_job_task as run_job  # defined beside the runner: services enqueue it

__all__ = [
    "fail_stale_jobs",
    "find_duplicates",
    "purge_finished_jobs",
    "purge_idempotency_keys",
    "recompute_metrics",
    "run_job",
    "snapshot_metrics",
]


@shared_task(name="crm.tasks.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return services.purge_idempotency_keys()


@shared_task(name="crm.tasks.purge_finished_jobs")
def purge_finished_jobs() -> int:
    return services.purge_finished_jobs()


@shared_task(name="crm.tasks.fail_stale_jobs")
def fail_stale_jobs() -> int:
    return _fail_stale_jobs()


@shared_task(name="crm.tasks.find_duplicates")
def find_duplicates() -> str:
    """Nightly: queue duplicate candidates, as a job so that its progress shows in the UI."""
    return str(services.start_job(kind="crm.find_duplicates").pk)


@shared_task(name="crm.tasks.recompute_metrics")
def recompute_metrics() -> str:
    """Nightly: every customer's metrics (crm/METRICS.md), as a job with progress."""
    return str(services.start_job(kind="crm.recompute_metrics").pk)


@shared_task(name="crm.tasks.snapshot_metrics")
def snapshot_metrics() -> str:
    """On the 1st: the previous month's snapshot as of its last day, as a job."""
    return str(services.start_job(kind="crm.snapshot_metrics").pk)
