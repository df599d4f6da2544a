"""What the leads app contributes to the shared screens: the 360 view's panel (a constant
number of queries), the global search, the timeline event types, the roles and scopes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.registry import customer_panels, event_types, search_providers
from crm.scopes import known_scopes
from crm.services import IdentityInput, resolve_customer
from leads.models import Lead
from leads.selectors import customer_leads_panel
from leads.services import LeadInput, claim_lead, intake_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(db):
    return resolve_customer(
        identities=[IdentityInput("mobile", "13800138000")],
        attributes={"display_name": "王伟"},
        source="pos",
    ).customer


def test_the_panel_lists_the_customer_s_leads_in_constant_queries(
    customer, unit_a, manager, rep_a, django_assert_num_queries
):
    lead = intake_lead(business_unit=unit_a, data=LeadInput(name="王伟", phone="13800138000")).lead
    claim_lead(lead=lead, user=rep_a)
    manager.has_perm("leads.view_lead")  # permissions read once per request, as on the page
    with django_assert_num_queries(2):  # units are read with the permissions on the page
        panel = customer_leads_panel(manager, customer)
    assert [row[0].pk for row in panel["leads"]] == [lead.pk]
    for i in range(12):
        Lead.objects.create(
            business_unit=unit_a,
            pool=lead.pool,
            name=f"旧{i}",
            customer=customer,
            status="lost",
            lost_reason="no_need",
        )
    with django_assert_num_queries(2):
        panel = customer_leads_panel(manager, customer)
    assert (len(panel["leads"]), panel["total"]) == (10, 13)


def test_the_360_view_shows_the_panel_to_who_may_view_leads(client, customer, unit_a, manager):
    intake_lead(business_unit=unit_a, data=LeadInput(name="王伟", phone="13800138000"))
    assert "leads" in [p.key for p in customer_panels(manager)]
    client.force_login(manager)
    page = client.get(reverse("customer-detail", args=[customer.pk]))
    assert page.status_code == 200
    assert 'data-testid="customer-lead"' in page.content.decode()


def test_the_search_finds_a_lead_by_full_phone_or_name_start(unit_a, manager, rep_b):
    intake_lead(business_unit=unit_a, data=LeadInput(name="欧阳娜娜", phone="13800138000"))
    provider = next(p for p in search_providers(manager) if p.key == "leads")
    (by_phone,) = provider.search(manager, "138 0013 8000", 5)
    assert by_phone.title == "欧阳娜娜" and "138****8000" in by_phone.subtitle
    assert provider.search(manager, "欧阳", 5)[0].url
    assert provider.search(manager, "0013", 5) == []  # fragments of a phone find nothing
    assert len(provider.search(rep_b, "欧阳", 5)) == 1  # in the public pool: a rep sees it


def test_event_types_roles_and_scopes_are_declared():
    assert {"lead.created", "lead.claimed", "lead.converted", "lead.recycled"} <= set(event_types())
    assert "leads:write" in known_scopes()
