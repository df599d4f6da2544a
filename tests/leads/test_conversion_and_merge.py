"""Conversion through the apps' services: B2B → account + contact + opportunity, B2C →
member; the matched customer is reused, a blacklisted one refused; merges re-link leads."""

from __future__ import annotations

import pytest

from accounts.models import Account, Contact, Opportunity
from crm.errors import DomainError
from crm.models import Customer, TimelineEvent
from crm.services import IdentityInput, merge_customers, resolve_customer
from leads.models import Lead, LeadEvent
from leads.services import (
    LeadInput,
    claim_lead,
    convert_lead,
    intake_lead,
    log_follow_up,
    qualify_lead,
)
from members.models import Member
from tests.accounts.conftest import make_uscc

pytestmark = pytest.mark.django_db


def qualified(unit, rep, **data) -> Lead:
    lead = intake_lead(business_unit=unit, data=LeadInput(**data)).lead
    claim_lead(lead=lead, user=rep)
    log_follow_up(lead=lead, user=rep, kind="visit")
    return qualify_lead(lead=lead, user=rep)


def test_a_company_lead_becomes_an_account_with_a_contact_and_an_opportunity(unit_a, rep_a):
    lead = qualified(
        unit_a,
        rep_a,
        name="周杰",
        company="远航物流有限公司",
        phone="13500135000",
        title="采购经理",
    )
    uscc = make_uscc()
    result = convert_lead(lead=lead, user=rep_a, uscc=uscc, amount="120000")
    lead.refresh_from_db()
    account = Account.objects.get(pk=result.account.pk)
    assert account.customer.display_name == "远航物流有限公司" and account.owner == rep_a
    contact = Contact.objects.get(account=account)
    assert contact.person.display_name == "周杰" and contact.title == "采购经理"
    opportunity = Opportunity.objects.get(account=account)
    assert (opportunity.owner, opportunity.amount) == (rep_a, 120000)
    assert (lead.status, lead.customer_id) == ("converted", account.customer_id)
    assert lead.converted_at and lead.closed_at
    event = LeadEvent.objects.get(lead=lead, kind="converted")
    assert event.data["opportunity"] == opportunity.pk
    assert TimelineEvent.objects.filter(customer=account.customer, type="lead.converted").exists()


def test_a_company_lead_needs_its_uscc(unit_a, rep_a):
    lead = qualified(unit_a, rep_a, company="无码公司", phone="13500135001")
    with pytest.raises(DomainError) as refused:
        convert_lead(lead=lead, user=rep_a)
    assert refused.value.field == "uscc"
    assert Account.objects.count() == 0
    lead.refresh_from_db()
    assert lead.status == "qualified"


def test_a_person_lead_becomes_a_member_reusing_the_known_customer(unit_a, rep_a):
    known = resolve_customer(
        identities=[IdentityInput("mobile", "13600136000")],
        attributes={"display_name": "陈晨"},
        source="pos",
    ).customer
    lead = qualified(unit_a, rep_a, name="陈晨", phone="136 0013 6000")
    assert lead.customer_id == known.pk
    customers_before = Customer.objects.count()
    result = convert_lead(lead=lead, user=rep_a)
    assert result.member.customer_id == known.pk
    assert Customer.objects.count() == customers_before  # no duplicate customer
    assert Member.objects.filter(customer=known).count() == 1


def test_only_a_qualified_lead_converts(unit_a, rep_a):
    lead = intake_lead(business_unit=unit_a, data=LeadInput(name="甲", phone="13600136001")).lead
    claim_lead(lead=lead, user=rep_a)
    with pytest.raises(DomainError) as refused:
        convert_lead(lead=lead, user=rep_a)
    assert refused.value.code == "invalid_transition"


def test_a_blacklisted_customer_is_refused_with_the_reason_and_nothing_is_written(
    unit_a, rep_a, blacklist
):
    # The company is blacklisted; the lead (by a person's phone) did not match it at intake:
    # conversion finds it by the USCC and refuses.
    org = resolve_customer(
        identities=[IdentityInput("uscc", make_uscc())],
        attributes={"display_name": "黑名单公司", "kind": "organization"},
        source="crm",
    ).customer
    blacklist(org)
    company = qualified(unit_a, rep_a, name="钱多多", company="黑名单公司", phone="13600136003")
    uscc = org.identities.get(type="uscc").value
    with pytest.raises(DomainError) as refused:
        convert_lead(lead=company, user=rep_a, uscc=uscc)
    assert refused.value.code == "customer_blacklisted" and "欺诈" in refused.value.message
    assert not Account.objects.filter(customer=org).exists()
    company.refresh_from_db()
    assert company.status == "qualified"


def test_a_lead_matched_to_a_blacklisted_person_is_refused(unit_a, rep_a, blacklist):
    person = resolve_customer(
        identities=[IdentityInput("mobile", "13600136009")],
        attributes={"display_name": "赵某"},
        source="pos",
    ).customer
    lead = qualified(unit_a, rep_a, name="赵某", phone="13600136009")
    blacklist(person)
    with pytest.raises(DomainError) as refused:
        convert_lead(lead=lead, user=rep_a)
    assert refused.value.code == "customer_blacklisted"
    assert not Member.objects.filter(customer=person).exists()


def test_merging_customers_moves_their_leads_to_the_survivor(unit_a, rep_a, admin_user):
    def person(phone):
        return resolve_customer(
            identities=[IdentityInput("mobile", phone)],
            attributes={"display_name": "孙悟空"},
            source="pos",
        ).customer

    survivor, loser = person("13100131000"), person("13100131001")
    lead = intake_lead(business_unit=unit_a, data=LeadInput(name="孙", phone="13100131001")).lead
    assert lead.customer_id == loser.pk
    merge = merge_customers(survivor=survivor, loser=loser, actor=admin_user, reason="同一人")
    lead.refresh_from_db()
    assert lead.customer_id == survivor.pk
    assert LeadEvent.objects.filter(lead=lead, kind="merged").exists()
    assert merge.pk
