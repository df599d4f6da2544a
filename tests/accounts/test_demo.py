"""The accounts demo: on the demo's organizations, safe to run twice."""

from __future__ import annotations

import random

import pytest
from django.core.management import call_command

from accounts.models import (
    Account,
    Contact,
    CreditEvidence,
    CreditProfile,
    Opportunity,
    OpportunityStageChange,
)
from accounts.web.credit import credit_reviews_work
from crm.demo import load_platform_demo
from crm.demo_master import make_uscc
from crm.models import User
from crm.services import IdentityInput, resolve_customer

pytestmark = pytest.mark.django_db


def test_accounts_demo_is_idempotent() -> None:
    load_platform_demo()
    rng = random.Random(7)
    for n in range(6):
        resolve_customer(
            identities=[IdentityInput("uscc", make_uscc(rng))],
            attributes={"display_name": f"星辰演示公司{n}", "kind": "organization"},
            source="demo",
        )
    call_command("load_accounts_demo", verbosity=0)
    counts = (
        Account.objects.count(),
        Contact.objects.count(),
        Opportunity.objects.count(),
        OpportunityStageChange.objects.count(),
        CreditEvidence.objects.count(),
    )
    assert counts == (5, 6, 6, 11, 10)  # 6 created + 5 moved out of qualification
    ratings = sorted(CreditProfile.objects.values_list("rating", flat=True))
    assert ratings == ["A", "AA", "B", "C"]
    due = credit_reviews_work(User.objects.get(username="rep"))
    assert len(due.items) == 1 and due.items[0].badge == "A"
    assert Account.objects.filter(parent__isnull=False).count() == 1
    people = Contact.objects.filter(person__display_name="刘芳").values("person").distinct()
    assert people.count() == 1
    assert {o.stage.code for o in Opportunity.objects.select_related("stage")} == {
        "qualification",
        "needs_analysis",
        "proposal",
        "negotiation",
        "won",
        "lost",
    }
    call_command("load_accounts_demo", verbosity=0)
    assert (
        Account.objects.count(),
        Contact.objects.count(),
        Opportunity.objects.count(),
        OpportunityStageChange.objects.count(),
        CreditEvidence.objects.count(),
    ) == counts
