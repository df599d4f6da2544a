"""Background jobs (imports, recomputes, exports, housekeeping) as rows the UI follows: status,
progress, result. What a kind is called comes from ``crm.job_kinds``; ``crm.jobs`` runs them."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.job_kinds import job_label, job_result_items
from crm.policy import ScopedQuerySet


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


FINISHED_JOB_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class JobQuerySet(ScopedQuerySet["Job"]):
    def visible_to(self, user: Any) -> JobQuerySet:
        from crm.policy import visible_unit_ids

        unit_ids = visible_unit_ids(user)
        if unit_ids is None:
            return self.all()
        api_key = getattr(user, "api_key", None)
        if api_key is not None:  # a partner sees only the jobs it started itself
            return self.filter(api_key=api_key)
        return self.filter(Q(created_by_id=user.pk) | Q(business_unit__in=unit_ids))

    def finished(self) -> JobQuerySet:
        return self.filter(status__in=FINISHED_JOB_STATUSES)


class Job(models.Model):
    """Long work (imports, recomputes, bulk issue) run by Celery, with progress for the UI."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=60)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(
        _("progress"), default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    message = models.CharField(_("message"), max_length=300, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    traceback = models.TextField(
        _("traceback"), blank=True, help_text=_("For administrators; never shown to partners.")
    )
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    business_unit = models.ForeignKey(
        "crm.BusinessUnit",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name=_("business unit"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name=_("created by"),
    )
    api_key = models.ForeignKey(
        "crm.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name=_("API key"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    updated_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="job_owner_recent"),
            models.Index(
                fields=["updated_at"], condition=Q(status="running"), name="job_running_progress"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=100), name="job_progress_0_100"
            ),
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="job_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=FINISHED_JOB_STATUSES) | Q(finished_at__isnull=False),
                name="job_finished_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} {str(self.id)[:8]}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_JOB_STATUSES

    def can_be_cancelled_by(self, user: Any) -> bool:
        """The job's starter, or whoever may change jobs (administrators)."""
        api_key = getattr(user, "api_key", None)
        if api_key is not None:
            return self.api_key_id == api_key.pk and api_key.has_scope("jobs:write")
        return user.has_perm("crm.change_job") or (
            self.created_by_id == user.pk and user.has_perm("crm.add_job")
        )

    @property
    def label(self) -> str:
        return job_label(self.kind)

    @property
    def result_items(self) -> list[tuple[Any, Any]]:
        return job_result_items(self.kind, self.result)
