"""Background jobs: the ``job_handler`` decorator and the runner Celery calls (the registry of
job kinds itself is ``crm.job_kinds``, which the models read without importing this module).

An app registers a handler with ``@job_handler("app.kind", label=...)``; the handler receives
a :class:`JobContext` to report progress and to see whether cancellation was requested.
Progress is written with a single ``UPDATE`` outside the handler's own transactions, so the
UI sees it while the work goes on. Running a job twice (Celery delivers at least once) is
harmless: only a queued job is started.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from crm.errors import DomainError
from crm.job_kinds import (
    JobKind,
    job_kind,
    job_kinds,
    job_label,
    job_result_items,
    register_job_kind,
)
from crm.models import Job, JobStatus

logger = logging.getLogger(__name__)

__all__ = [
    "JobCancelled",
    "JobContext",
    "JobKind",
    "fail_stale_jobs",
    "job_handler",
    "job_kinds",
    "job_label",
    "job_result_items",
    "run_job",
    "run_job_task",
]


class JobCancelled(Exception):
    """Raised inside a handler (by ``JobContext.check_cancelled``) to stop early."""


def job_handler(
    kind: str, *, label: Any, result_labels: Mapping[str, Any] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a job kind; ``result_labels`` name the keys of its result dict for the UI
    (a dict, or a mapping read when shown)."""

    def register(func: Callable[[JobContext], Any]) -> Callable[[JobContext], Any]:
        labels = result_labels if result_labels is not None else {}
        register_job_kind(JobKind(kind, label, func, labels))
        return func

    return register


class JobContext:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.params = job.params

    def progress(self, percent: float, message: str = "") -> None:
        """Record progress (0-100) and check for cancellation."""
        value = max(0, min(100, int(percent)))
        Job.objects.filter(pk=self.job.pk).update(
            progress=value, message=str(message)[:300], updated_at=timezone.now()
        )
        self.check_cancelled()

    def check_cancelled(self) -> None:
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled


def run_job(job_id: Any) -> str:
    """Run one queued job to the end; returns its final status."""
    now = timezone.now()
    started = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, updated_at=now
    )
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return "missing"
    if not started:
        return job.status
    entry = job_kind(job.kind)
    # Messages are written in the language of whoever started the job.
    with translation.override(job.params.get("_language") or settings.LANGUAGE_CODE):
        return _run(job, entry)


@shared_task(name="crm.tasks.run_job")
def run_job_task(job_id: str) -> str:
    """The Celery task ``crm.services.start_job`` enqueues (also ``crm.tasks.run_job``)."""
    return run_job(job_id)


def _run(job: Job, entry: JobKind | None) -> str:
    try:
        if entry is None:
            raise DomainError(_("Unknown job kind: %(kind)s") % {"kind": job.kind})
        if job.cancel_requested:
            raise JobCancelled
        result = entry.handler(JobContext(job))
    except JobCancelled:
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.CANCELLED, finished_at=timezone.now(), message=_("Cancelled")
        )
        return JobStatus.CANCELLED
    except Exception as exc:  # the job records any failure; the worker stays up
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        # A domain error's message is meant for people; anything else is a bug: say so plainly
        # and keep the traceback for administrators only.
        error = (
            exc.message if isinstance(exc, DomainError) else _("Internal error; see the job log.")
        )
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED,
            finished_at=timezone.now(),
            error=str(error),
            traceback=traceback.format_exc(limit=8),
            message=str(error)[:300],
        )
        return JobStatus.FAILED
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED,
        finished_at=timezone.now(),
        progress=100,
        result=result,
    )
    return JobStatus.SUCCEEDED


def fail_stale_jobs(*, now: Any = None) -> int:
    """Mark running jobs whose worker died as failed (no start or progress for too long)."""
    cutoff = (now or timezone.now()) - settings.JOB_STALE_AFTER
    return Job.objects.filter(status=JobStatus.RUNNING, updated_at__lt=cutoff).update(
        status=JobStatus.FAILED,
        finished_at=now or timezone.now(),
        error=_("The worker running this job stopped; start the job again."),
        message=_("Worker lost"),
    )
