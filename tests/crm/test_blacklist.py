"""The group-wide blacklist: propose → approve / reject, lift, four eyes in the service,
``assert_not_blacklisted``, one open entry per customer, the merge handler."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import IntegrityError, transaction

from crm import selectors, services
from crm.models import BlacklistEntry, BlacklistReason, BlacklistStatus, Customer, TimelineEvent
from crm.roles import ADMIN, DATA_STEWARD, SALES_MANAGER
from crm.services import (
    BlacklistNotAllowed,
    BlacklistRefused,
    CustomerBlacklisted,
    IdentityInput,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def org(name: str = "星辰贸易有限公司", uscc: str = "91350100M000100Y43") -> Customer:
    return services.resolve_customer(
        identities=[IdentityInput("uscc", uscc)],
        attributes={"display_name": name, "kind": "organization"},
        source="crm",
    ).customer


@pytest.fixture
def customer(db) -> Customer:
    return org()


@pytest.fixture
def manager(unit_a):
    return UserFactory(username="manager", roles=[SALES_MANAGER], units=[unit_a])


@pytest.fixture
def steward(unit_a):
    return UserFactory(username="steward", roles=[DATA_STEWARD], units=[unit_a])


@pytest.fixture
def steward2(unit_a):
    return UserFactory(username="steward2", roles=[DATA_STEWARD], units=[unit_a])


def propose(customer, user, reason=BlacklistReason.FRAUD):
    return services.propose_blacklisting(
        customer=customer, user=user, reason=reason, evidence="法院判决 (2026) 闽01民初123号"
    )


def events(customer) -> list[str]:
    return list(
        TimelineEvent.objects.filter(customer=customer, type__startswith="blacklist.")
        .order_by("id")
        .values_list("type", flat=True)
    )


def test_propose_then_approve_blacklists_the_customer(customer, manager, steward) -> None:
    entry = propose(customer, manager)
    assert entry.status == BlacklistStatus.PROPOSED
    assert selectors.active_blacklist_entry(customer) is None
    services.assert_not_blacklisted(customer)  # a proposal binds nothing

    entry = services.approve_blacklisting(entry=entry, user=steward, comment="证据充分")
    assert entry.status == BlacklistStatus.ACTIVE
    assert entry.decided_by == steward and entry.decided_at is not None
    assert selectors.active_blacklist_entry(customer).pk == entry.pk
    assert selectors.is_blacklisted(customer.pk)
    assert selectors.blacklisted_ids([customer.pk, customer.pk + 999]) == {customer.pk}
    assert events(customer) == ["blacklist.proposed", "blacklist.activated"]
    # The timeline never carries the evidence.
    assert not TimelineEvent.objects.filter(summary__contains="闽01").exists()


def test_reject_needs_a_comment_and_binds_nothing(customer, manager, steward) -> None:
    entry = propose(customer, manager)
    with pytest.raises(BlacklistRefused) as refused:
        services.reject_blacklisting(entry=entry, user=steward, comment="  ")
    assert refused.value.field == "comment"
    entry = services.reject_blacklisting(entry=entry, user=steward, comment="证据不足")
    assert entry.status == BlacklistStatus.REJECTED
    assert entry.decision_comment == "证据不足"
    services.assert_not_blacklisted(customer)
    # Closed: a new proposal may follow.
    assert propose(customer, manager).status == BlacklistStatus.PROPOSED


def test_lifting_proposed_then_rejected_stays_active_then_lifted(
    customer, manager, steward, steward2
) -> None:
    entry = services.approve_blacklisting(entry=propose(customer, manager), user=steward)
    entry = services.propose_lifting(entry=entry, user=steward, reason="欠款已结清")
    assert entry.status == BlacklistStatus.LIFTING
    with pytest.raises(CustomerBlacklisted):  # still binding until the lifting is approved
        services.assert_not_blacklisted(customer)
    with pytest.raises(BlacklistNotAllowed):  # four eyes on the lifting too
        services.approve_lifting(entry=entry, user=steward)
    entry = services.reject_lifting(entry=entry, user=steward2, comment="尚有未结案件")
    assert entry.status == BlacklistStatus.ACTIVE
    entry = services.propose_lifting(entry=entry, user=manager, reason="案件已结")
    entry = services.approve_lifting(entry=entry, user=steward, comment="同意")
    assert entry.status == BlacklistStatus.LIFTED
    assert entry.lift_decided_by == steward
    services.assert_not_blacklisted(customer)
    assert not selectors.is_blacklisted(customer.pk)
    assert events(customer) == [
        "blacklist.proposed",
        "blacklist.activated",
        "blacklist.lifting_proposed",
        "blacklist.lifting_rejected",
        "blacklist.lifting_proposed",
        "blacklist.lifted",
    ]


def test_the_proposer_cannot_approve_or_reject_their_own_entry(customer, steward) -> None:
    entry = propose(customer, steward)  # a steward may propose and approve, never both
    with pytest.raises(BlacklistNotAllowed) as refused:
        services.approve_blacklisting(entry=entry, user=steward)
    assert refused.value.code == "blacklist_not_allowed"
    with pytest.raises(BlacklistNotAllowed):
        services.reject_blacklisting(entry=entry, user=steward, comment="撤回")
    entry.refresh_from_db()
    assert entry.status == BlacklistStatus.PROPOSED and entry.decided_by is None


def test_the_database_refuses_an_approver_who_proposed(customer, steward) -> None:
    entry = propose(customer, steward)
    with pytest.raises(IntegrityError), transaction.atomic():
        BlacklistEntry.objects.filter(pk=entry.pk).update(
            status=BlacklistStatus.ACTIVE, decided_by=steward, decided_at=entry.proposed_at
        )


def test_only_holders_of_the_permissions_propose_and_approve(customer, rep_a, manager) -> None:
    with pytest.raises(BlacklistNotAllowed):
        propose(customer, rep_a)
    entry = propose(customer, manager)
    other_manager = UserFactory(roles=[SALES_MANAGER])
    with pytest.raises(BlacklistNotAllowed):  # managers propose; they do not approve
        services.approve_blacklisting(entry=entry, user=other_manager)
    admin = UserFactory(roles=[ADMIN])
    assert services.approve_blacklisting(entry=entry, user=admin).status == "active"


def test_a_decided_entry_is_not_decided_again(customer, manager, steward, steward2) -> None:
    entry = propose(customer, manager)
    services.approve_blacklisting(entry=entry, user=steward)
    with pytest.raises(BlacklistRefused):
        services.reject_blacklisting(entry=entry, user=steward2, comment="晚了")
    assert BlacklistEntry.objects.get(pk=entry.pk).decided_by == steward


def test_proposal_validation_names_the_field(customer, manager) -> None:
    with pytest.raises(BlacklistRefused) as refused:
        services.propose_blacklisting(customer=customer, user=manager, reason="x", evidence="e")
    assert refused.value.field == "reason"
    with pytest.raises(BlacklistRefused) as refused:
        services.propose_blacklisting(customer=customer, user=manager, reason="fraud", evidence="")
    assert refused.value.field == "evidence"
    with pytest.raises(BlacklistRefused) as refused:
        services.propose_blacklisting(
            customer=customer, user=manager, reason="fraud", evidence="x" * 4001
        )
    assert refused.value.field == "evidence"
    assert not BlacklistEntry.objects.exists()


def test_assert_not_blacklisted_names_date_and_reason(customer, manager, steward) -> None:
    entry = propose(customer, manager, reason=BlacklistReason.UNPAID_DEBTS)
    with time_machine.travel(datetime(2026, 11, 3, 2, 0, tzinfo=UTC), tick=False):
        services.approve_blacklisting(entry=entry, user=steward)
    with pytest.raises(CustomerBlacklisted) as raised:
        services.assert_not_blacklisted(customer)
    assert raised.value.code == "customer_blacklisted"
    assert "2026-11-03" in raised.value.message
    assert str(BlacklistReason.UNPAID_DEBTS.label) in raised.value.message


def test_assert_not_blacklisted_ignores_proposed_rejected_lifted(
    customer, manager, steward
) -> None:
    entry = propose(customer, manager)
    services.assert_not_blacklisted(customer)
    services.reject_blacklisting(entry=entry, user=steward, comment="否")
    services.assert_not_blacklisted(customer)
    entry = services.approve_blacklisting(entry=propose(customer, manager), user=steward)
    services.propose_lifting(entry=entry, user=manager, reason="已和解")
    services.approve_lifting(entry=entry, user=steward)
    services.assert_not_blacklisted(customer.pk)


def test_one_open_entry_per_customer(customer, manager, steward) -> None:
    propose(customer, manager)
    with pytest.raises(BlacklistRefused):
        propose(customer, steward)
    # The database holds the rule even past the service.
    with pytest.raises(IntegrityError), transaction.atomic():
        BlacklistEntry.objects.create(customer=customer, reason="fraud", evidence="x")
    assert BlacklistEntry.objects.filter(customer=customer).count() == 1


def test_a_person_can_be_blacklisted_for_fraud(manager, steward) -> None:
    person = services.resolve_customer(
        identities=[IdentityInput("mobile", "13800138000")],
        attributes={"display_name": "王伟"},
        source="pos",
    ).customer
    entry = services.approve_blacklisting(entry=propose(person, manager), user=steward)
    assert selectors.active_blacklist_entry(person).pk == entry.pk


# --- Merge ------------------------------------------------------------------------------------


def two_orgs() -> tuple[Customer, Customer]:
    return org(), org("星辰商贸有限公司", "91110108551385082Q")


def merge(survivor, loser, actor) -> dict:
    return services.merge_customers(
        survivor=survivor, loser=loser, actor=actor, reason="同一家公司"
    ).summary


def test_merge_moves_entries_to_the_survivor(manager, steward) -> None:
    survivor, loser = two_orgs()
    first = propose(loser, manager)
    services.reject_blacklisting(entry=first, user=steward, comment="不足")
    active = services.approve_blacklisting(entry=propose(loser, manager), user=steward)
    summary = merge(survivor, loser, steward)
    assert summary["blacklist_entries"] == 2
    assert set(survivor.blacklist_entries.values_list("pk", flat=True)) == {first.pk, active.pk}
    assert selectors.active_blacklist_entry(survivor).pk == active.pk
    with pytest.raises(CustomerBlacklisted):
        services.assert_not_blacklisted(survivor)


def test_merge_of_two_open_entries_keeps_the_stricter_one(manager, steward) -> None:
    survivor, loser = two_orgs()
    proposal = propose(survivor, manager)  # older, but only proposed
    binding = services.approve_blacklisting(entry=propose(loser, manager), user=steward)
    merge(survivor, loser, steward)
    proposal.refresh_from_db()
    binding.refresh_from_db()
    assert binding.status == BlacklistStatus.ACTIVE and binding.customer_id == survivor.pk
    assert proposal.status == BlacklistStatus.REJECTED
    assert f"#{binding.pk}" in proposal.note
    assert BlacklistEntry.objects.filter(customer=survivor).count() == 2


def test_merge_of_two_active_entries_keeps_the_older(manager, steward) -> None:
    survivor, loser = two_orgs()
    with time_machine.travel(datetime(2026, 1, 5, tzinfo=UTC)):
        older = services.approve_blacklisting(entry=propose(loser, manager), user=steward)
    newer = services.approve_blacklisting(entry=propose(survivor, manager), user=steward)
    merge(survivor, loser, steward)
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.status == BlacklistStatus.ACTIVE and older.customer_id == survivor.pk
    assert newer.status == BlacklistStatus.LIFTED and f"#{older.pk}" in newer.note
    assert selectors.active_blacklist_entry(survivor).pk == older.pk


def test_a_tombstone_cannot_be_proposed(manager, steward) -> None:
    survivor, loser = two_orgs()
    merge(survivor, loser, steward)
    with pytest.raises(BlacklistRefused):
        propose(loser, manager)


def test_customer_blacklisted_renders_as_problem_json(customer, manager, steward) -> None:
    from crm.api.exceptions import problem_exception_handler

    services.approve_blacklisting(entry=propose(customer, manager), user=steward)
    with pytest.raises(CustomerBlacklisted) as raised:
        services.assert_not_blacklisted(customer)
    response = problem_exception_handler(raised.value, {})
    assert response is not None and response.status_code == 409
    assert response.data["code"] == "customer_blacklisted"
    assert response.data["detail"] == raised.value.message
