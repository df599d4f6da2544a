"""Platform use cases: API keys, background jobs, housekeeping, user preferences.

Each service is a plain function with keyword arguments and one transaction; tasks are
enqueued on commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.jobs import JobContext, job_handler, job_kinds
from crm.models import ApiKey, BusinessUnit, IdempotencyKey, Job, JobStatus, User
from crm.scopes import known_scopes


class UnknownScope(DomainError):
    code = "unknown_scope"


class UnknownJobKind(DomainError):
    code = "unknown_job_kind"


class JobAlreadyFinished(DomainError):
    code = "job_already_finished"
    status = 409


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str


def issue_api_key(
    *,
    name: str,
    business_unit: BusinessUnit,
    scopes: Iterable[str],
    created_by: User | None = None,
    expires_at: datetime | None = None,
    rate: str = "",
) -> IssuedKey:
    """Create a key; the raw key is returned once and never stored."""
    scopes = sorted(set(scopes))
    if not scopes:
        raise UnknownScope(_("Choose at least one scope."), field="scopes")
    unknown = [s for s in scopes if s not in known_scopes()]
    if unknown:
        raise UnknownScope(
            _("Unknown scope(s): %(scopes)s.") % {"scopes": ", ".join(unknown)}, field="scopes"
        )
    prefix = secrets.token_hex(4)
    raw_key = f"crm_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        name=name,
        business_unit=business_unit,
        prefix=prefix,
        hashed_key=ApiKey.hash(raw_key),
        scopes=scopes,
        created_by=created_by,
        expires_at=expires_at,
        rate=rate,
    )
    return IssuedKey(api_key=api_key, raw_key=raw_key)


def revoke_api_keys(*, keys: Iterable[ApiKey], actor: User | None) -> int:
    """Revoke keys at once; already revoked keys keep their first revocation."""
    ids = [k.pk for k in keys]
    return ApiKey.objects.filter(pk__in=ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=actor
    )


def start_job(
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    user: Any = None,
    business_unit: BusinessUnit | None = None,
) -> Job:
    """Record a queued job and hand it to a Celery worker once the transaction commits."""
    if kind not in job_kinds():
        raise UnknownJobKind(_("Unknown job kind: %(kind)s") % {"kind": kind}, field="kind")
    api_key = getattr(user, "api_key", None)
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            params={**(params or {}), "_language": get_language()},
            created_by=None if api_key or not getattr(user, "pk", None) else user,
            api_key=api_key,
            business_unit=business_unit or (api_key.business_unit if api_key else None),
        )
        from crm.tasks import run_job

        transaction.on_commit(lambda: run_job.delay(str(job.pk)))
    return job


def request_job_cancel(*, job: Job) -> Job:
    """Ask a job to stop; a queued job is cancelled at once, a running one at its next step."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.is_finished:
            raise JobAlreadyFinished(_("This job has already finished."))
        job.cancel_requested = True
        fields = ["cancel_requested"]
        if job.status == JobStatus.QUEUED:
            job.status = JobStatus.CANCELLED
            job.finished_at = timezone.now()
            job.message = _("Cancelled")
            fields += ["status", "finished_at", "message"]
        job.save(update_fields=fields)
    return job


def _delete_in_batches(queryset: Any, batch: int = 5000) -> int:
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        total += queryset.model.objects.filter(pk__in=ids).delete()[0]


def purge_idempotency_keys(*, now: datetime | None = None) -> int:
    """Delete idempotency keys older than their time to live (24 h)."""
    cutoff = (now or timezone.now()) - settings.IDEMPOTENCY_KEY_TTL
    return _delete_in_batches(IdempotencyKey.objects.filter(created_at__lt=cutoff))


def purge_finished_jobs(*, now: datetime | None = None, days: int = 90) -> int:
    """Delete finished jobs older than ``days``."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return _delete_in_batches(Job.objects.finished().filter(finished_at__lt=cutoff))


@job_handler(
    "crm.housekeeping",
    label=gettext_lazy("Housekeeping"),
    result_labels={
        "idempotency_keys_deleted": gettext_lazy("Expired idempotency keys deleted"),
        "jobs_deleted": gettext_lazy("Old finished jobs deleted"),
        "uploads_deleted": gettext_lazy("Stale import uploads deleted"),
        "error_reports_deleted": gettext_lazy("Old import error files deleted"),
    },
)
def housekeeping(ctx: JobContext) -> dict[str, int]:
    """Purge expired idempotency keys, old finished jobs and abandoned uploads."""
    ctx.progress(5, _("Purging expired idempotency keys"))
    keys = purge_idempotency_keys()
    ctx.progress(50, _("Purging finished jobs older than 90 days"))
    jobs = purge_finished_jobs()
    ctx.progress(80, _("Deleting uploads whose import never ran"))
    from crm.imports import purge_stale_uploads
    from crm.imports.reports import purge_error_reports

    uploads = purge_stale_uploads()
    error_reports = purge_error_reports()
    ctx.progress(90, _("Deleting expired rate counters"))
    from crm.ratelimit import purge_rate_counters

    counters = purge_rate_counters()
    ctx.progress(100, _("Done"))
    return {
        "idempotency_keys_deleted": keys,
        "jobs_deleted": jobs,
        "uploads_deleted": uploads,
        "error_reports_deleted": error_reports,
        "rate_counters_deleted": counters,
    }


def set_user_language(*, user: User, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("Unsupported language."), field="language")
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
