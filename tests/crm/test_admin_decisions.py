"""Confirmed bulk decisions in the admin (``crm.admin.base.decide_confirmed``): nothing happens
before the confirmation; afterwards each selected row goes through its service, and a row the
service refuses is named with the reason while the others are still decided."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import SettlementStatement, StatementStatus
from crm.services.settlement import month_of

pytestmark = pytest.mark.django_db


def test_approving_statements_decides_each_and_names_the_refused_one(
    client, admin_user, unit_a, unit_b
) -> None:
    past = SettlementStatement.objects.create(
        month=date(2024, 1, 1), debtor=unit_a, creditor=unit_b
    )
    current = SettlementStatement.objects.create(
        month=month_of(timezone.now()), debtor=unit_a, creditor=unit_b
    )
    client.force_login(admin_user)
    url = reverse("admin:crm_settlementstatement_changelist")
    data = {"action": "approve_selected", "_selected_action": [past.pk, current.pk]}

    confirm = client.post(url, data)
    assert confirm.status_code == 200
    assert confirm.templates[0].name == "admin/confirm_action.html"
    past.refresh_from_db()
    assert past.status == StatementStatus.OPEN

    done = client.post(url, {**data, "confirmed": "yes"}, follow=True)
    past.refresh_from_db()
    current.refresh_from_db()
    assert (past.status, current.status) == (StatementStatus.APPROVED, StatementStatus.OPEN)
    shown = [(m.level_tag, str(m)) for m in done.context["messages"]]
    errors = [text for level, text in shown if level == "error"]
    assert len(errors) == 1 and errors[0].startswith(f"{current}: ")
    assert [text for level, text in shown if level == "success"] == ["已更新 1 张结算单。"]

    settled = client.post(
        url,
        {"action": "mark_settled", "_selected_action": [past.pk], "confirmed": "yes"},
    )
    assert settled.status_code == 302
    past.refresh_from_db()
    assert past.status == StatementStatus.SETTLED
