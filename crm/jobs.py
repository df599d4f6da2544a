"""Background jobs: a registry of job kinds and the runner Celery calls.

An app registers a handler with ``@job_handler("app.kind", label=...)``; the handler receives
a :class:`JobContext` to report progress and to see whether cancellation was requested.
Progress is written with a single ``UPDATE`` outside the handler's own transactions, so the
UI sees it while the work goes on. Running a job twice (Celery delivers at least once) is
harmless: only a queued job is started.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from crm.errors import DomainError
from crm.models import Job, JobStatus

logger = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a handler (by ``JobContext.check_cancelled``) to stop early."""


@dataclass(frozen=True)
class JobKind:
    kind: str
    label: Any
    handler: Callable[[JobContext], Any]
    result_labels: dict[str, Any]


_REGISTRY: dict[str, JobKind] = {}


def job_handler(
    kind: str, *, label: Any, result_labels: dict[str, Any] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a job kind; ``result_labels`` name the keys of its result dict for the UI."""

    def register(func: Callable[[JobContext], Any]) -> Callable[[JobContext], Any]:
        _REGISTRY[kind] = JobKind(kind, label, func, dict(result_labels or {}))
        return func

    return register


def job_kinds() -> dict[str, JobKind]:
    return dict(_REGISTRY)


def job_label(kind: str) -> Any:
    entry = _REGISTRY.get(kind)
    return entry.label if entry else kind


def job_result_items(kind: str, result: Any) -> list[tuple[Any, Any]]:
    """``(label, value)`` pairs of a dict result, labelled as the job kind declares."""
    if not isinstance(result, dict):
        return []
    entry = _REGISTRY.get(kind)
    labels = entry.result_labels if entry else {}
    # Figures only (lists such as per-row errors have their own display), in declared order.
    order = {key: n for n, key in enumerate(labels)}
    shown = [(key, value) for key, value in result.items() if not isinstance(value, list | dict)]
    shown.sort(key=lambda item: (order.get(item[0], len(order)), item[0]))
    return [(labels.get(key, key), value) for key, value in shown]


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
    entry = _REGISTRY.get(job.kind)
    # Messages are written in the language of whoever started the job.
    with translation.override(job.params.get("_language") or settings.LANGUAGE_CODE):
        return _run(job, entry)


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
