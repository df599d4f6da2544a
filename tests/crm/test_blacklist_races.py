"""Two approvers deciding the same proposal at the same instant: one state change, one event
(the entry's row lock, then the state re-checked)."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from crm import services
from crm.models import BlacklistEntry, BlacklistStatus, TimelineEvent
from crm.roles import ADMIN, DATA_STEWARD, SALES_MANAGER
from crm.services import BlacklistRefused, IdentityInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def decide_together(entry: BlacklistEntry, deciders: list) -> tuple[list, list[BaseException]]:
    barrier = threading.Barrier(len(deciders))
    done: list = []
    errors: list[BaseException] = []

    def work(user, action) -> None:
        try:
            barrier.wait()
            if action == "approve":
                done.append(services.approve_blacklisting(entry=entry.pk, user=user))
            else:
                done.append(services.reject_blacklisting(entry=entry.pk, user=user, comment="否"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=pair) for pair in deciders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    return done, errors


@pytest.mark.parametrize("second_action", ["approve", "reject"])
def test_two_approvers_at_once_make_one_change(second_action: str) -> None:
    customer = services.resolve_customer(
        identities=[IdentityInput("uscc", "91350100M000100Y43")],
        attributes={"display_name": "星辰贸易有限公司", "kind": "organization"},
        source="crm",
    ).customer
    manager = UserFactory(roles=[SALES_MANAGER])
    entry = services.propose_blacklisting(
        customer=customer, user=manager, reason="fraud", evidence="伪造合同"
    )
    steward, admin = UserFactory(roles=[DATA_STEWARD]), UserFactory(roles=[ADMIN])

    done, errors = decide_together(entry, [(steward, "approve"), (admin, second_action)])

    assert len(done) == 1, errors
    assert len(errors) == 1 and isinstance(errors[0], BlacklistRefused), errors
    entry.refresh_from_db()
    assert entry.status in (BlacklistStatus.ACTIVE, BlacklistStatus.REJECTED)
    assert entry.decided_by_id == done[0].decided_by_id
    decisions = TimelineEvent.objects.filter(
        customer=customer, type__in=["blacklist.activated", "blacklist.rejected"]
    )
    assert decisions.count() == 1
