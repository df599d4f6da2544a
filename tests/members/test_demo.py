"""The members demo: on the demo's people, safe to run twice."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Sum

from crm.demo import load_platform_demo
from crm.models import SettlementLine
from crm.services import IdentityInput, resolve_customer
from members.models import Member, PointsEntry
from tests.members.conftest import assert_ledger_consistent

pytestmark = pytest.mark.django_db


def test_members_demo_is_idempotent() -> None:
    load_platform_demo()
    for n in range(12):
        resolve_customer(
            identities=[IdentityInput("mobile", f"+8613900{n:06d}")],
            attributes={"display_name": f"演示会员{n}"},
            source="demo",
        )
    call_command("load_members_demo", count=12, verbosity=0)
    counts = (Member.objects.count(), PointsEntry.objects.count(), SettlementLine.objects.count())
    assert counts[0] == 12 and counts[1] > 12
    call_command("load_members_demo", count=12, verbosity=0)
    assert (
        Member.objects.count(),
        PointsEntry.objects.count(),
        SettlementLine.objects.count(),
    ) == counts
    for member in Member.objects.all():
        assert_ledger_consistent(member)
    assert Member.objects.aggregate(s=Sum("points_balance"))["s"] > 0
