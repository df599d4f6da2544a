"""Intake: normalized identities, the customer master's match, dedup within the unit,
quarantine of a blacklisted customer, clear refusals, assignment on intake."""

from __future__ import annotations

import pytest

from crm.errors import DomainError
from crm.models import Notification, TimelineEvent
from crm.services import IdentityInput, resolve_customer
from leads.models import Lead, LeadEvent, LeadPool, LeadPoolMember
from leads.services import LeadInput, intake_lead
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_new_lead_lands_unclaimed_in_the_public_pool_with_normalized_identities(unit_a):
    result = intake_lead(
        business_unit=unit_a,
        data=LeadInput(
            name=" 韩  梅梅 ",
            phone="138 0013 8000",
            email=" Mei@Example.COM ",
            source="trade_show",
            channel="上海车展",
        ),
    )
    lead = result.lead
    assert (result.created, result.outcome) == (True, "created")
    assert (lead.name, lead.phone, lead.email) == ("韩 梅梅", "+8613800138000", "mei@example.com")
    assert lead.status == "new" and lead.owner is None and lead.pool.kind == "public"
    assert lead.customer is None and not lead.existing_customer
    assert list(lead.events.values_list("kind", flat=True)) == ["created"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (LeadInput(name="甲", phone="12345"), "phone"),
        (LeadInput(name="甲", phone="13800138000", email="not-an-email"), "email"),
        (LeadInput(name="甲"), "phone"),
        (LeadInput(phone="13800138000"), "name"),
        (LeadInput(name="甲", phone="13800138000", source="telepathy"), "source"),
        (LeadInput(name="甲", phone="13800138000", score=101), "score"),
        (LeadInput(name="甲", kind="company", phone="13800138000"), "company"),
    ],
)
def test_invalid_input_is_refused_naming_the_field_and_nothing_is_created(unit_a, data, field):
    with pytest.raises(DomainError) as refused:
        intake_lead(business_unit=unit_a, data=data)
    assert refused.value.field == field
    assert refused.value.message
    assert Lead.objects.count() == 0 and LeadPool.objects.count() == 0


def test_the_same_person_again_in_the_same_unit_is_no_duplicate_but_a_note(unit_a, unit_b):
    first = intake_lead(business_unit=unit_a, data=LeadInput(name="李雷", phone="13800138000"))
    again = intake_lead(
        business_unit=unit_a,
        data=LeadInput(
            name="李雷", email="li@example.com", phone="+86 138-0013-8000", channel="ad"
        ),
    )
    assert (again.created, again.outcome, again.lead.pk) == (False, "duplicate", first.lead.pk)
    note = LeadEvent.objects.get(lead=first.lead, kind="duplicate")
    assert note.data["channel"] == "ad"
    # Another unit has its own lead for the same person.
    other = intake_lead(business_unit=unit_b, data=LeadInput(name="李雷", phone="13800138000"))
    assert other.created and other.lead.business_unit == unit_b
    assert Lead.objects.count() == 2


def test_a_closed_lead_does_not_stop_a_new_one(unit_a, rep_a):
    first = intake_lead(business_unit=unit_a, data=LeadInput(name="李雷", phone="13800138000"))
    Lead.objects.filter(pk=first.lead.pk).update(status="lost", lost_reason="no_need")
    again = intake_lead(business_unit=unit_a, data=LeadInput(name="李雷", phone="13800138000"))
    assert again.created and again.lead.pk != first.lead.pk


def test_an_existing_customer_is_linked_and_flagged_with_its_account_owner(unit_a, rep_a):
    from accounts import services as accounts

    account = accounts.create_account(
        uscc="91350100M000100Y43", name="星辰贸易", user=rep_a, business_unit=unit_a, owner=rep_a
    ).account
    contact = accounts.add_contact(
        account=account,
        identities=[IdentityInput("mobile", "13900139000")],
        name="王伟",
        user=rep_a,
        business_unit=unit_a,
    )
    result = intake_lead(
        business_unit=unit_a,
        data=LeadInput(name="王伟", company="星辰贸易", phone="139 0013 9000"),
    )
    lead = result.lead
    assert result.outcome == "existing_customer"
    assert lead.customer_id == contact.person_id and lead.existing_customer
    assert lead.customer_owner == rep_a
    assert TimelineEvent.objects.filter(customer=contact.person, type="lead.created").exists()


def test_a_blacklisted_customer_s_lead_is_quarantined_with_the_reason(unit_a, blacklist):
    customer = resolve_customer(
        identities=[IdentityInput("mobile", "13700137000")],
        attributes={"display_name": "黑名单"},
        source="crm",
    ).customer
    blacklist(customer)
    result = intake_lead(business_unit=unit_a, data=LeadInput(name="某人", phone="13700137000"))
    lead = result.lead
    assert result.outcome == "quarantined"
    assert lead.quarantined and "欺诈" in lead.quarantine_reason  # the blacklist reason
    assert lead.events.filter(kind="quarantined").exists()
    assert not Lead.objects.unclaimed().filter(pk=lead.pk).exists()


def test_a_round_robin_team_pool_assigns_new_leads_in_turn_within_hold_limits(unit_a):
    reps = [UserFactory(username=f"rr{i}", roles=["sales_rep"], units=[unit_a]) for i in range(3)]
    pool = LeadPool.objects.create(
        business_unit=unit_a, name="电销组", strategy="round_robin", hold_limit=1
    )
    for rep in reps:
        LeadPoolMember.objects.create(pool=pool, user=rep)
    owners = [
        intake_lead(
            business_unit=unit_a, pool=pool, data=LeadInput(name="客户", phone=f"1380013800{i}")
        ).lead.owner_id
        for i in range(4)
    ]
    assert owners == [reps[0].pk, reps[1].pk, reps[2].pk, None]  # the 4th: everybody is full
    assert Notification.objects.filter(kind="leads.assigned").count() == 3


def test_a_least_loaded_team_pool_gives_the_lead_to_the_rep_holding_fewest(unit_a, make_lead):
    busy, idle = (
        UserFactory(username=n, roles=["sales_rep"], units=[unit_a]) for n in ("busy", "idle")
    )
    pool = LeadPool.objects.create(business_unit=unit_a, name="大客户组", strategy="least_loaded")
    LeadPoolMember.objects.create(pool=pool, user=busy)
    LeadPoolMember.objects.create(pool=pool, user=idle)
    from django.utils import timezone

    make_lead(pool=pool, status="assigned", owner=busy, claimed_at=timezone.now())
    lead = intake_lead(
        business_unit=unit_a, pool=pool, data=LeadInput(name="新客户", phone="13600136000")
    ).lead
    assert lead.owner == idle and lead.status == "assigned"
