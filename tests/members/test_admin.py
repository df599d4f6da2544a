"""The programme's admin pages open, and a large adjustment is approved from the admin
through the service (confirmed, four eyes)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import SettlementStatement, StatementStatus
from members import services
from members.models import AdjustmentProposal, AdjustmentStatus

pytestmark = pytest.mark.django_db

PAGES = [
    "level",
    "earningrule",
    "pointvalue",
    "programsettings",
    "member",
    "pointsentry",
    "levelchange",
    "adjustmentproposal",
]


def test_admin_pages_open(client, admin_user, make_member, unit_a, unit_b) -> None:
    member = make_member()
    services.earn_points(member=member, business_unit=unit_a, reference="O", amount=Decimal(50))
    services.redeem_points(member=member, business_unit=unit_b, points=20, reference="R")
    client.force_login(admin_user)
    for model in PAGES:
        assert client.get(reverse(f"admin:members_{model}_changelist")).status_code == 200, model
    assert client.get(reverse("admin:members_member_change", args=[member.pk])).status_code == 200
    statement = SettlementStatement.objects.get()
    assert client.get(reverse("admin:crm_settlementstatement_changelist")).status_code == 200
    page = client.get(reverse("admin:crm_settlementstatement_change", args=[statement.pk]))
    assert page.status_code == 200


def test_approving_an_adjustment_in_the_admin(client, admin_user, desk, make_member, unit_a):
    member = make_member()
    proposal = services.adjust_points(
        member=member, business_unit=unit_a, points=3000, reason="补偿", user=desk
    )
    assert isinstance(proposal, AdjustmentProposal)
    client.force_login(admin_user)
    url = reverse("admin:members_adjustmentproposal_changelist")
    data = {"action": "approve_selected", "_selected_action": [proposal.pk]}
    confirm = client.post(url, data)
    assert confirm.status_code == 200  # the confirmation page
    proposal.refresh_from_db()
    assert proposal.status == AdjustmentStatus.PROPOSED
    client.post(url, {**data, "confirmed": "yes"})
    proposal.refresh_from_db()
    assert proposal.status == AdjustmentStatus.APPROVED
    member.refresh_from_db()
    assert member.points_balance == 3000


def test_a_statement_is_approved_after_its_month_then_settled(
    admin_user, make_member, unit_a, unit_b
) -> None:
    from crm.services import StatementRefused, approve_statement, mark_statement_settled

    member = make_member()
    services.earn_points(member=member, business_unit=unit_a, reference="O", amount=Decimal(50))
    services.redeem_points(member=member, business_unit=unit_b, points=20, reference="R")
    statement = SettlementStatement.objects.get()
    with pytest.raises(StatementRefused):
        approve_statement(statement=statement, user=admin_user)
    later = timezone.now() + timezone.timedelta(days=40)
    approve_statement(statement=statement, user=admin_user, now=later)
    settled = mark_statement_settled(statement=statement, user=admin_user)
    assert settled.status == StatementStatus.SETTLED
