"""Follow-ups move a held lead along; recycling takes neglected leads back to the public
pool with a warning first, a recorded reason, a cooldown, and nothing left for a second run."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from crm.errors import DomainError
from crm.models import Notification
from leads.models import Lead, LeadEvent, LeadPool
from leads.services import (
    claim_lead,
    log_follow_up,
    lose_lead,
    qualify_lead,
    recycle_overdue_leads,
    set_status,
)

pytestmark = pytest.mark.django_db


def code_of(call) -> str:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.code


def test_a_follow_up_contacts_the_lead_and_moves_its_dates(make_lead, rep_a):
    lead = claim_lead(lead=make_lead(), user=rep_a)
    nxt = timezone.now() + timedelta(days=2)
    follow_up = log_follow_up(
        lead=lead,
        user=rep_a,
        kind="call",
        note="有意向，想试驾",
        outcome="interested",
        next_step="约试驾",
        next_action_at=nxt,
    )
    lead.refresh_from_db()
    assert lead.status == "contacted"
    assert lead.last_follow_up_at == follow_up.occurred_at == lead.first_contacted_at
    assert lead.next_follow_up_at == nxt
    assert LeadEvent.objects.filter(lead=lead, kind="followed_up").count() == 1


def test_only_the_holder_follows_up_and_bad_input_names_its_field(make_lead, rep_a, rep_b):
    lead = claim_lead(lead=make_lead(), user=rep_a)
    assert code_of(lambda: log_follow_up(lead=lead, user=rep_b, kind="call")) == "lead_not_held"
    with pytest.raises(DomainError) as refused:
        log_follow_up(lead=lead, user=rep_a, kind="telepathy")
    assert refused.value.field == "kind"
    with pytest.raises(DomainError) as refused:
        log_follow_up(
            lead=lead, user=rep_a, kind="call", next_action_at=timezone.now() - timedelta(days=1)
        )
    assert refused.value.field == "next_action_at"


def test_the_status_machine_qualify_and_lose_with_a_reason(make_lead, rep_a):
    lead = claim_lead(lead=make_lead(), user=rep_a)
    lead = qualify_lead(lead=lead, user=rep_a)
    assert lead.status == "qualified"
    assert set_status(lead=lead, user=rep_a, status="contacted").status == "contacted"
    assert code_of(lambda: set_status(lead=lead, user=rep_a, status="converted")) == (
        "invalid_transition"
    )
    with pytest.raises(DomainError) as refused:
        lose_lead(lead=lead, user=rep_a, reason="other")
    assert refused.value.field == "note"
    lead = lose_lead(lead=lead, user=rep_a, reason="competitor", note="选了别家")
    assert (lead.status, lead.lost_reason) == ("lost", "competitor") and lead.closed_at
    assert code_of(lambda: lose_lead(lead=lead, user=rep_a, reason="budget")) == (
        "invalid_transition"
    )


def test_warning_then_recycling_with_reason_then_cooldown_and_idempotent_runs(
    make_lead, rep_a, public_pool, team_pool
):
    # Team pool rules: follow up within 3 days, warned 1 day before; cooldown 7 days.
    start = timezone.now()
    lead = claim_lead(lead=make_lead(pool=team_pool), user=rep_a, now=start)
    with time_machine.travel(start + timedelta(days=1, hours=1), tick=False):
        assert recycle_overdue_leads().as_dict() == {"recycled": 0, "warned": 0, "moved": 0}
    with time_machine.travel(start + timedelta(days=2, hours=1), tick=False):
        assert recycle_overdue_leads().as_dict() == {"recycled": 0, "warned": 1, "moved": 0}
        assert recycle_overdue_leads().warned == 0  # warned once
        notice = Notification.objects.get(recipient=rep_a, kind="leads.recycle_warning")
        assert "公海" in notice.title and "公海" in notice.body  # the rep's language
    with time_machine.travel(start + timedelta(days=3, hours=1), tick=False):
        assert recycle_overdue_leads().as_dict() == {"recycled": 1, "warned": 0, "moved": 0}
        assert recycle_overdue_leads().as_dict() == {"recycled": 0, "warned": 0, "moved": 0}
        lead.refresh_from_db()
        assert (lead.owner, lead.status, lead.pool) == (None, "new", public_pool)
        event = LeadEvent.objects.get(lead=lead, kind="recycled")
        assert (event.reason, event.from_owner, event.from_pool, event.to_pool) == (
            "no_follow_up",
            rep_a,
            team_pool,
            public_pool,
        )
        assert Notification.objects.filter(recipient=rep_a, kind="leads.recycled").count() == 1
        assert code_of(lambda: claim_lead(lead=lead, user=rep_a)) == "cooldown"
        assert code_of(lambda: log_follow_up(lead=lead, user=rep_a, kind="call")) == (
            "lead_not_held"
        )
    with time_machine.travel(start + timedelta(days=11), tick=False):
        assert claim_lead(lead=lead, user=rep_a).owner == rep_a  # the cooldown is over


def test_a_follow_up_resets_the_clock_and_the_warning(make_lead, rep_a, public_pool):
    start = timezone.now()
    lead = claim_lead(lead=make_lead(), user=rep_a, now=start)
    with time_machine.travel(start + timedelta(days=2, hours=1), tick=False):
        assert recycle_overdue_leads().warned == 1
        log_follow_up(lead=lead, user=rep_a, kind="visit")
    with time_machine.travel(start + timedelta(days=3, hours=1), tick=False):
        assert recycle_overdue_leads().as_dict() == {"recycled": 0, "warned": 0, "moved": 0}
    with time_machine.travel(start + timedelta(days=4, hours=2), tick=False):
        assert recycle_overdue_leads().warned == 1  # warned again for the new deadline


def test_a_lead_not_converted_in_time_goes_back_even_when_followed_up(
    make_lead, rep_a, public_pool
):
    public_pool.convert_days = 5
    public_pool.save()
    start = timezone.now()
    lead = claim_lead(lead=make_lead(), user=rep_a, now=start)
    for day in (1, 2, 3, 4):
        with time_machine.travel(start + timedelta(days=day), tick=False):
            log_follow_up(lead=lead, user=rep_a, kind="message")
    with time_machine.travel(start + timedelta(days=5, minutes=1), tick=False):
        assert recycle_overdue_leads().recycled == 1
    assert LeadEvent.objects.get(lead=lead, kind="recycled").reason == "not_converted"


def test_a_team_pool_s_unclaimed_lead_moves_to_the_public_pool(make_lead, team_pool, public_pool):
    lead = make_lead(pool=team_pool)
    with time_machine.travel(timezone.now() + timedelta(days=team_pool.unclaimed_days, hours=1)):
        assert recycle_overdue_leads().moved == 1
        assert recycle_overdue_leads().moved == 0
    lead.refresh_from_db()
    assert lead.pool == public_pool and lead.owner is None
    assert LeadEvent.objects.get(lead=lead, kind="moved").reason == "unclaimed"


def test_recycling_works_in_batches_and_creates_the_public_pool_when_missing(unit_a, rep_a):
    team = LeadPool.objects.create(business_unit=unit_a, name="临时组", hold_limit=50)
    now = timezone.now()
    old = now - timedelta(days=10)
    for i in range(7):
        Lead.objects.create(
            business_unit=unit_a,
            pool=team,
            name=f"客户{i}",
            phone=f"+861380013801{i}",
            status="assigned",
            owner=rep_a,
            claimed_at=old,
        )
    assert recycle_overdue_leads(batch_size=3).recycled == 7
    assert Lead.objects.filter(pool__kind="public", owner__isnull=True).count() == 7


def test_the_beat_task_recycles(make_lead, rep_a, settings):
    from leads import tasks

    assert settings.CELERY_BEAT_SCHEDULE["leads-recycle"]["task"] == tasks.recycle_leads.name
    claim_lead(lead=make_lead(), user=rep_a, now=timezone.now() - timedelta(days=10))
    assert tasks.recycle_leads.delay().get() == {"recycled": 1, "warned": 0, "moved": 0}
