"""Claims under concurrency on PostgreSQL: real threads, each on its own connection, released
together by a barrier. Nobody exceeds the hold limit, no lead is claimed twice, every claim
is in the history; a follow-up racing the recycling task never lands on a recycled lead."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from crm.errors import DomainError
from crm.models import BusinessUnit
from crm.roles import SALES_REP
from leads.models import FollowUp, Lead, LeadEvent, LeadPool
from leads.services import claim_lead, claim_next, log_follow_up, recycle_overdue_leads
from tests.factories import BusinessUnitFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(jobs: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(len(jobs))
    done: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(job: Callable[[], Any]) -> None:
        try:
            with connection.cursor() as cursor:  # see tests/members/test_concurrency.py
                cursor.execute("SET synchronous_commit TO off")
            barrier.wait()
            outcome = job()
            with lock:
                done.extend(outcome)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    return done, errors


def attempts(call: Callable[[], Any], times: int) -> Callable[[], list[str]]:
    """``times`` calls in a row; each outcome is "ok" or the refusal's code."""

    def job() -> list[str]:
        outcomes = []
        for _i in range(times):
            try:
                call()
                outcomes.append("ok")
            except DomainError as exc:
                outcomes.append(exc.code)
        return outcomes

    return job


def make_pool(unit: BusinessUnit, leads: int, **rules: Any) -> LeadPool:
    pool = LeadPool.objects.create(business_unit=unit, name="公海", kind="public", **rules)
    Lead.objects.bulk_create(
        Lead(business_unit=unit, pool=pool, name=f"客户{i}", phone=f"+8613{i:09d}")
        for i in range(leads)
    )
    return pool


def reps(unit: BusinessUnit, n: int) -> list[Any]:
    return [UserFactory(username=f"c{i}", roles=[SALES_REP], units=[unit]) for i in range(n)]


def assert_claims_consistent(pool: LeadPool, limit: int) -> None:
    held = Counter(
        Lead.objects.filter(pool=pool, owner__isnull=False).values_list("owner_id", flat=True)
    )
    assert max(held.values()) <= limit
    claims = LeadEvent.objects.filter(lead__pool=pool, kind="claimed")
    # Every claim is in the history, once per lead (no lead claimed twice).
    assert claims.count() == sum(held.values())
    assert claims.values("lead").distinct().count() == claims.count()
    assert set(claims.values_list("lead_id", "to_owner_id")) == set(
        Lead.objects.filter(pool=pool, owner__isnull=False).values_list("pk", "owner_id")
    )


def test_sixteen_reps_times_a_hundred_claims_on_a_thousand_leads_with_limit_fifty() -> None:
    unit = BusinessUnitFactory(code="AUTO")
    pool = make_pool(unit, 1000, hold_limit=50, daily_claim_quota=1000)
    people = reps(unit, 16)
    done, errors = run_together(
        [attempts(lambda u=u: claim_next(pool=pool, user=u), 100) for u in people]
    )
    assert errors == []
    assert Counter(done) == {"ok": 800, "hold_limit_reached": 800}
    assert_claims_consistent(pool, 50)
    assert Lead.objects.filter(pool=pool, owner__isnull=False).count() == 800


def test_one_rep_clicking_in_sixteen_tabs_holds_exactly_the_limit() -> None:
    unit = BusinessUnitFactory(code="AUTO")
    pool = make_pool(unit, 200, hold_limit=7, daily_claim_quota=1000)
    (rep,) = reps(unit, 1)
    done, errors = run_together(
        [attempts(lambda: claim_next(pool=pool, user=rep), 3) for _i in range(16)]
    )
    assert errors == []
    assert Counter(done) == {"ok": 7, "hold_limit_reached": 41}
    assert Lead.objects.filter(owner=rep).count() == 7
    assert_claims_consistent(pool, 7)


def test_the_daily_quota_holds_under_concurrency_too() -> None:
    unit = BusinessUnitFactory(code="AUTO")
    pool = make_pool(unit, 100, hold_limit=100, daily_claim_quota=5)
    (rep,) = reps(unit, 1)
    done, errors = run_together(
        [attempts(lambda: claim_next(pool=pool, user=rep), 2) for _i in range(12)]
    )
    assert errors == []
    assert Counter(done) == {"ok": 5, "daily_quota_reached": 19}


def test_sixty_leads_twenty_reps_limit_three_a_hundred_claim_next() -> None:
    unit = BusinessUnitFactory(code="AUTO")
    pool = make_pool(unit, 60, hold_limit=3, daily_claim_quota=100)
    people = reps(unit, 20)
    # 100 simultaneous claims on 50 connections (the embedded server allows ~100): each
    # thread claims twice, each rep has five tries.
    done, errors = run_together(
        [attempts(lambda u=people[i % 20]: claim_next(pool=pool, user=u), 2) for i in range(50)]
    )
    assert errors == []
    assert Counter(done) == {"ok": 60, "hold_limit_reached": 40}
    assert Lead.objects.filter(pool=pool, owner__isnull=True).count() == 0
    assert_claims_consistent(pool, 3)


def test_sixteen_reps_clicking_the_same_lead_one_wins() -> None:
    unit = BusinessUnitFactory(code="AUTO")
    pool = make_pool(unit, 1, hold_limit=5)
    lead = Lead.objects.get(pool=pool)
    done, errors = run_together(
        [attempts(lambda u=u: claim_lead(lead=lead.pk, user=u), 1) for u in reps(unit, 16)]
    )
    assert errors == []
    assert Counter(done) == {"ok": 1, "already_claimed": 15}
    assert LeadEvent.objects.filter(lead=lead, kind="claimed").count() == 1


def test_recycling_racing_a_follow_up_a_hundred_times_never_loses_or_misplaces_one() -> None:
    """Each round: a lead overdue for recycling; the recycling task and the holder's
    follow-up released together. Either the follow-up wins (stored, the lead stays with the
    rep) or the recycling does (the lead is back in the pool, the follow-up refused)."""
    unit = BusinessUnitFactory(code="AUTO")
    pool = make_pool(unit, 0, hold_limit=500, daily_claim_quota=500)
    (rep,) = reps(unit, 1)
    rounds = 100
    start, done_round = threading.Barrier(3), threading.Barrier(3)
    outcomes: dict[str, list[str]] = {"recycle": [], "follow_up": []}
    errors: list[BaseException] = []

    def recycler() -> None:
        try:
            for _i in range(rounds):
                start.wait()
                outcomes["recycle"].append(str(recycle_overdue_leads().recycled))
                done_round.wait()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            start.abort()
            done_round.abort()
        finally:
            connection.close()

    current: dict[str, int] = {}

    def follower() -> None:
        try:
            for _i in range(rounds):
                start.wait()
                try:
                    log_follow_up(lead=current["lead"], user=rep, kind="call", note="回访")
                    outcomes["follow_up"].append("ok")
                except DomainError as exc:
                    outcomes["follow_up"].append(exc.code)
                done_round.wait()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            start.abort()
            done_round.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=recycler), threading.Thread(target=follower)]
    for thread in threads:
        thread.start()
    long_ago = timezone.now() - timedelta(days=10)
    for i in range(rounds):
        lead = Lead.objects.create(
            business_unit=unit, pool=pool, name=f"回合{i}", phone=f"+8613800{i:06d}"
        )
        claim_lead(lead=lead, user=rep, now=long_ago)
        current["lead"] = lead.pk
        start.wait()
        done_round.wait()
        lead.refresh_from_db()
        recycled = LeadEvent.objects.filter(lead=lead, kind="recycled").exists()
        followed = FollowUp.objects.filter(lead=lead).exists()
        assert recycled != followed, (i, outcomes["recycle"][-1], outcomes["follow_up"][-1])
        if followed:
            assert lead.owner_id == rep.pk and lead.status == "contacted"
            assert outcomes["follow_up"][-1] == "ok"
        else:
            assert lead.owner_id is None and lead.status == "new"
            assert outcomes["follow_up"][-1] == "lead_not_held"
    for thread in threads:
        thread.join()
    close_old_connections()
    assert errors == []
    assert len(outcomes["follow_up"]) == rounds


def test_routed_intakes_racing_the_reps_own_claims_never_pass_the_hold_limit() -> None:
    """A routing rule naming a rep takes the same lock as the rep's claims: 8 leads routed to
    the rep while the rep claims 8 from the public pool, all at once; limit 5 → exactly 5."""
    from leads.models import LeadPoolMember, RoutingRule
    from leads.services import LeadInput, intake_lead

    unit = BusinessUnitFactory(code="AUTO")
    public = make_pool(unit, 20, hold_limit=5, daily_claim_quota=100)
    (rep,) = reps(unit, 1)
    team = LeadPool.objects.create(business_unit=unit, name="华东组", hold_limit=5)
    LeadPoolMember.objects.create(pool=team, user=rep)
    RoutingRule.objects.create(
        business_unit=unit, name="杭州", regions=["杭州"], pool=team, rep=rep
    )

    def routed(n: int) -> Callable[[], Any]:
        data = LeadInput(name=f"新客户{n}", phone=f"+8615{n:09d}", region="杭州")
        return attempts(lambda: intake_lead(business_unit=unit, data=data), 1)

    done, errors = run_together(
        [routed(n) for n in range(8)]
        + [attempts(lambda: claim_next(pool=public, user=rep), 1) for _i in range(8)]
    )
    assert errors == []
    # Every intake succeeds (a full rep leaves the lead in the team pool); the claims and the
    # routed assignments share the rep's 5 places, however the race falls.
    claims = LeadEvent.objects.filter(kind="claimed", to_owner=rep).count()
    routed_to_rep = LeadEvent.objects.filter(kind="assigned", reason="routing_rule", to_owner=rep)
    assert Counter(done) == {"ok": 8 + claims, "hold_limit_reached": 8 - claims}
    assert claims + routed_to_rep.count() == 5
    assert Lead.objects.filter(owner=rep).count() == 5
    assert Lead.objects.filter(pool=team).count() == 8
    assert routed_to_rep.count() == Lead.objects.filter(pool=team, owner=rep).count()
