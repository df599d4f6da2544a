"""Celery entry points of the coupon programme: thin, each safe to run twice (a firing is
unique per rule and event; expiry is one conditional ``UPDATE``)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import transaction

from campaigns.services import expiry, triggers


@shared_task(
    name="campaigns.tasks.fire_for_transactions",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def fire_for_transactions(transaction_ids: list[int]) -> dict[str, int]:
    return triggers.fire_for_transactions(transaction_ids)


@shared_task(
    name="campaigns.tasks.fire_for_event",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def fire_for_event(event_id: int) -> dict[str, int]:
    return triggers.fire_for_event(event_id)


@shared_task(name="campaigns.tasks.expire_coupons")
def expire_coupons() -> int:
    return expiry.expire_due_coupons()


@shared_task(name="campaigns.tasks.refresh_rollup")
def refresh_rollup() -> dict[str, Any]:
    """Every 10 minutes: the overview's monthly rollup (the current and previous months and
    the marked ones; campaigns/ROLLUP.md). A routine run takes well under a second, so it
    runs here rather than as a job: 144 job rows a day would bury the users' own jobs. The
    full rebuild from the admin is a job with progress."""
    from campaigns.services import refresh_rollup as refresh

    return refresh()


def enqueue_transaction_triggers(transaction_ids: list[int]) -> None:
    """The master's transaction hook (already after the commit)."""
    if triggers.watches_transactions():
        fire_for_transactions.delay(list(transaction_ids))


def _after_event(event_id: int, event_type: str, unit_id: int | None) -> None:
    watched = triggers.watched_events()
    if (event_type, None) in watched or (unit_id is not None and (event_type, unit_id) in watched):
        fire_for_event.delay(event_id)


def on_event_recorded(event: Any) -> None:
    """The master's timeline hook (inside the writer's transaction): no query here; after the
    commit, enqueue the rules' task if an active rule watches this kind of event in its unit."""
    if event.type.startswith("coupon."):
        return
    transaction.on_commit(
        lambda: _after_event(event.pk, event.type, event.business_unit_id), robust=True
    )
