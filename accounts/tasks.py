"""Celery entry points of the accounts app: thin wrappers around services, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from accounts import services


@shared_task(name="accounts.tasks.flag_due_credit_reviews")
def flag_due_credit_reviews() -> int:
    """Daily: credit profiles whose next review date has come appear on their owners' home
    page ("Credit reviews due") until someone reviews them or records evidence."""
    return services.flag_due_credit_reviews()
