"""Claiming and assignment under the pools' rules: hold limit (every pool of the unit
counted), daily quota, per-role limits, cooldown, already claimed, manager moves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.errors import DomainError
from crm.models import Notification
from leads.models import HoldLimit, Lead, LeadEvent, LeadEventKind, LeadPool, LeadStatus
from leads.services import (
    assign_lead,
    assign_leads,
    claim_lead,
    claim_next,
    release_lead,
    rep_load,
)

pytestmark = pytest.mark.django_db


def code_of(call) -> str:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.code


def test_a_rep_claims_a_lead_and_the_claim_is_in_the_history(make_lead, rep_a, public_pool):
    lead = claim_lead(lead=make_lead(), user=rep_a)
    assert (lead.owner, lead.status) == (rep_a, "assigned") and lead.claimed_at
    event = LeadEvent.objects.get(lead=lead, kind="claimed")
    assert (event.actor, event.to_owner, event.from_status) == (rep_a, rep_a, "new")
    assert rep_load(rep_a, public_pool.business_unit_id, public_pool)["held"] == 1


def test_a_claimed_lead_cannot_be_claimed_again(make_lead, rep_a, rep_b):
    lead = make_lead()
    claim_lead(lead=lead, user=rep_a)
    assert code_of(lambda: claim_lead(lead=lead, user=rep_b)) == "already_claimed"
    assert code_of(lambda: claim_lead(lead=lead, user=rep_a)) == "already_claimed"


def test_the_hold_limit_counts_every_pool_of_the_unit(make_lead, rep_a, public_pool, team_pool):
    public_pool.hold_limit = 3
    public_pool.save()
    for _i in range(2):
        claim_lead(lead=make_lead(), user=rep_a)
    claim_lead(lead=make_lead(pool=team_pool), user=rep_a)
    assert code_of(lambda: claim_lead(lead=make_lead(), user=rep_a)) == "hold_limit_reached"
    assert code_of(lambda: claim_next(pool=public_pool, user=rep_a)) == "hold_limit_reached"


def test_a_role_rule_overrides_the_pool_s_limit(make_lead, rep_a, public_pool):
    HoldLimit.objects.create(pool=public_pool, role="sales_rep", hold_limit=1, daily_claim_quota=9)
    claim_lead(lead=make_lead(), user=rep_a)
    assert code_of(lambda: claim_lead(lead=make_lead(), user=rep_a)) == "hold_limit_reached"


def test_the_daily_quota_counts_claims_not_holdings(make_lead, rep_a, public_pool):
    public_pool.daily_claim_quota = 2
    public_pool.save()
    first = claim_lead(lead=make_lead(), user=rep_a)
    claim_lead(lead=make_lead(), user=rep_a)
    release_lead(lead=first, actor=rep_a)  # holding one again, but two claims today
    assert code_of(lambda: claim_next(pool=public_pool, user=rep_a)) == "daily_quota_reached"
    tomorrow = timezone.now() + timedelta(days=1)
    assert claim_next(pool=public_pool, user=rep_a, now=tomorrow).owner == rep_a


def test_claim_next_takes_the_oldest_waiting_lead(make_lead, rep_a, public_pool):
    now = timezone.now()
    make_lead(created_at=now - timedelta(hours=1))
    oldest = make_lead(created_at=now - timedelta(hours=5))
    assert claim_next(pool=public_pool, user=rep_a).pk == oldest.pk


def test_an_empty_pool_says_so(rep_a, public_pool):
    assert code_of(lambda: claim_next(pool=public_pool, user=rep_a)) == "pool_empty"


def test_a_rep_outside_a_team_pool_cannot_claim_from_it(make_lead, rep_b, team_pool):
    assert code_of(lambda: claim_lead(lead=make_lead(pool=team_pool), user=rep_b)) == (
        "not_allowed"
    )


def test_a_quarantined_lead_cannot_be_claimed(make_lead, rep_a, public_pool):
    lead = make_lead(quarantined=True, quarantine_reason="黑名单")
    assert code_of(lambda: claim_lead(lead=lead, user=rep_a)) == "quarantined"
    assert code_of(lambda: claim_next(pool=public_pool, user=rep_a)) == "pool_empty"


def test_a_manager_assigns_transfers_and_bulk_assigns_within_the_limit(
    make_lead, rep_a, rep_b, manager, public_pool
):
    lead = assign_lead(lead=make_lead(), to_user=rep_a, actor=manager)
    assert lead.owner == rep_a
    lead = assign_lead(lead=lead, to_user=rep_b, actor=manager)
    assert lead.owner == rep_b
    kinds = list(LeadEvent.objects.filter(lead=lead).order_by("pk").values_list("kind", flat=True))
    assert kinds == ["assigned", "transferred"]
    assert Notification.objects.filter(recipient=rep_a, kind__startswith="leads.").count() == 2
    # Five more would put rep_b at 6 > 5: nothing moves.
    batch = [make_lead() for _i in range(5)]
    assert code_of(lambda: assign_leads(leads=batch, to_user=rep_b, actor=manager)) == (
        "hold_limit_reached"
    )
    assert Lead.objects.filter(owner=rep_b).count() == 1
    assign_leads(leads=batch[:4], to_user=rep_b, actor=manager)
    assert Lead.objects.filter(owner=rep_b).count() == 5


def test_a_rep_cannot_assign(make_lead, rep_a, rep_b):
    assert code_of(lambda: assign_lead(lead=make_lead(), to_user=rep_b, actor=rep_a)) == (
        "not_allowed"
    )


def test_a_lead_cannot_be_assigned_to_someone_outside_its_unit(make_lead, manager, unit_b):
    from tests.factories import UserFactory

    outsider = UserFactory(username="outsider", roles=["sales_rep"], units=[unit_b])
    assert code_of(lambda: assign_lead(lead=make_lead(), to_user=outsider, actor=manager)) == (
        "not_allowed"
    )


def test_release_puts_the_lead_back_unclaimed(make_lead, rep_a, rep_b):
    lead = claim_lead(lead=make_lead(), user=rep_a)
    assert code_of(lambda: release_lead(lead=lead, actor=rep_b)) == "not_allowed"
    lead = release_lead(lead=lead, actor=rep_a, note="不是我的区域")
    assert (lead.owner, lead.status, lead.claimed_at) == (None, "new", None)
    assert LeadEvent.objects.filter(lead=lead, kind="released", from_owner=rep_a).exists()


def test_pools_of_another_unit_are_not_claimable(rep_a, unit_b, make_lead):
    pool = LeadPool.objects.create(business_unit=unit_b, name="公海", kind="public")
    assert code_of(lambda: claim_lead(lead=make_lead(pool=pool), user=rep_a)) == "not_allowed"


def test_claim_next_takes_two_statements(make_lead, rep_a, public_pool, django_assert_num_queries):
    """In one transaction: the holding row locked with the day's claims and the role limits
    read (one SELECT … FOR UPDATE); then the held leads counted, the lead picked (SKIP
    LOCKED), written with its history row and the day's count, in one statement taken after
    the lock."""
    make_lead()
    oldest_left = make_lead()
    claim_next(pool=public_pool, user=rep_a)  # the rep's holding row made on the first claim
    with django_assert_num_queries(4) as captured:  # + SAVEPOINT / RELEASE in a test
        lead = claim_next(pool=public_pool, user=rep_a)
    statements = [q["sql"] for q in captured.captured_queries]
    assert "FROM leads_repholding h" in statements[1] and "FOR UPDATE OF h" in statements[1]
    assert "SKIP LOCKED" in statements[2] and "INSERT INTO leads_leadevent" in statements[2]
    assert "UPDATE leads_repholding" in statements[2]
    assert lead.pk == oldest_left.pk and lead.owner_id == rep_a.pk
    assert lead.status == LeadStatus.ASSIGNED
    event = LeadEvent.objects.get(lead=lead)
    assert (event.kind, event.actor_id, event.to_owner_id, event.to_pool_id) == (
        LeadEventKind.CLAIMED,
        rep_a.pk,
        rep_a.pk,
        public_pool.pk,
    )
    assert (event.from_status, event.to_status) == (LeadStatus.NEW, LeadStatus.ASSIGNED)


def test_claim_next_applies_the_most_generous_role_rule(make_lead, rep_a, public_pool):
    public_pool.hold_limit = 1
    public_pool.save()
    for _i in range(3):
        make_lead()
    claim_next(pool=public_pool, user=rep_a)
    assert code_of(lambda: claim_next(pool=public_pool, user=rep_a)) == "hold_limit_reached"
    (role,) = sorted(rep_a.role_names())
    HoldLimit.objects.create(pool=public_pool, role=role, hold_limit=2, daily_claim_quota=2)
    HoldLimit.objects.create(
        pool=public_pool, role="nobody_has_it", hold_limit=9, daily_claim_quota=9
    )
    claim_next(pool=public_pool, user=rep_a)
    assert code_of(lambda: claim_next(pool=public_pool, user=rep_a)) == "hold_limit_reached"


def test_claim_lead_counts_the_claim_on_the_locked_holding_row(
    make_lead, rep_a, public_pool, django_assert_num_queries
):
    first, second = make_lead(), make_lead()
    claim_lead(lead=first, user=rep_a)
    with django_assert_num_queries(11):  # + SAVEPOINT / RELEASE in a test
        claim_lead(lead=second, user=rep_a)
    assert rep_load(rep_a, public_pool.business_unit_id, public_pool)["claims_today"] == 2


def test_a_refused_claim_does_not_count_in_the_daily_quota(make_lead, rep_a, public_pool):
    public_pool.hold_limit = 1
    public_pool.save()
    claim_lead(lead=make_lead(), user=rep_a)
    assert code_of(lambda: claim_next(pool=public_pool, user=rep_a)) == "hold_limit_reached"
    assert code_of(lambda: claim_lead(lead=make_lead(), user=rep_a)) == "hold_limit_reached"
    assert rep_load(rep_a, public_pool.business_unit_id, public_pool)["claims_today"] == 1


def test_a_refused_claim_next_writes_nothing_and_keeps_the_prepared_statements(
    make_lead, rep_a, public_pool
):
    """A refusal commits an empty transaction instead of rolling back: psycopg drops every
    statement prepared on the connection at a rollback, and a drained pool answering
    ``pool_empty`` all day planned the claim's statements again on every call."""
    from django.db import connection

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement ~ %s",
                ["leads_holdlimit|SKIP LOCKED"],  # the lock's and the pick's statements
            )
            return cursor.fetchone()[0]

    make_lead()
    claim_next(pool=public_pool, user=rep_a)
    assert prepared() == 2
    assert code_of(lambda: claim_next(pool=public_pool, user=rep_a)) == "pool_empty"
    assert prepared() == 2  # still prepared (a rollback had dropped them)
    assert rep_load(rep_a, public_pool.business_unit_id, public_pool)["claims_today"] == 1
