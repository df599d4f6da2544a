"""The leads demo: the rep finds work (held leads at every stage, unclaimed leads in the
pools), the funnel has figures, and a second run changes nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from crm.demo import load_platform_demo
from crm.models import User
from crm.services import IdentityInput, resolve_customer
from leads.models import ChannelCost, FollowUp, Lead, LeadEvent, RoutingRule

pytestmark = pytest.mark.django_db


def test_leads_demo_gives_the_rep_work_and_is_idempotent() -> None:
    load_platform_demo()
    for n in range(10):
        resolve_customer(
            identities=[IdentityInput("mobile", f"+8613900{n:06d}")],
            attributes={"display_name": f"演示客户{n}"},
            source="demo",
        )
    call_command("load_leads_demo", verbosity=0)
    rep = User.objects.get(username="rep")
    held = Lead.objects.filter(owner=rep)
    assert {"assigned", "contacted", "qualified"} <= set(held.values_list("status", flat=True))
    assert Lead.objects.filter(status="converted").exists()
    assert Lead.objects.filter(status="lost").exists()
    assert Lead.objects.filter(existing_customer=True).exists()
    assert Lead.objects.filter(owner__isnull=True, pool__kind="public").count() > 50
    assert Lead.objects.filter(owner__isnull=True, pool__kind="team").exists()
    assert FollowUp.objects.filter(author=rep, next_action_at__isnull=False).exists()
    assert ChannelCost.objects.exists()
    # The dealership's routing rules sent leads to the team pool, and some to the rep.
    assert RoutingRule.objects.count() == 3
    routed = LeadEvent.objects.filter(reason="routing_rule")
    assert routed.filter(kind="created", to_pool__kind="team").exists()
    assert routed.filter(kind="assigned", to_owner=rep).exists()
    counts = (
        Lead.objects.count(),
        LeadEvent.objects.count(),
        ChannelCost.objects.count(),
        RoutingRule.objects.count(),
    )
    call_command("load_leads_demo", verbosity=0)
    assert (
        Lead.objects.count(),
        LeadEvent.objects.count(),
        ChannelCost.objects.count(),
        RoutingRule.objects.count(),
    ) == counts
