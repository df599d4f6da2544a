"""Celery entry points of the lead pools: thin, safe to run twice (recycling re-checks every
deadline under its locks; a warned or recycled lead is not warned or recycled again)."""

from __future__ import annotations

from celery import shared_task

from leads import services


@shared_task(name="leads.tasks.recycle_leads")
def recycle_leads() -> dict[str, int]:
    return services.recycle_overdue_leads().as_dict()
