"""Celery entry points of the programme: thin, each safe to run twice (the ledger's
references and the lots' ``remaining`` make a second run change nothing)."""

from __future__ import annotations

from celery import shared_task

from members import services


@shared_task(
    name="members.tasks.earn_for_transactions",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def earn_for_transactions(transaction_ids: list[int]) -> dict[str, int]:
    return services.earn_for_transactions(transaction_ids)


@shared_task(name="members.tasks.expire_points")
def expire_points() -> dict[str, int]:
    return services.expire_due_points()


@shared_task(name="members.tasks.evaluate_levels")
def evaluate_levels() -> dict[str, int]:
    return services.evaluate_levels()


def enqueue_earning(transaction_ids: list[int]) -> None:
    """The master's transaction hook (already after the commit)."""
    earn_for_transactions.delay(list(transaction_ids))
