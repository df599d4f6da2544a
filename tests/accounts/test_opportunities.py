"""The pipeline: stage history, a lost reason, the weighted forecast against a hand sum."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from accounts import selectors, services
from accounts.errors import LostReasonRequired, OpportunityError
from accounts.models import Account, OpportunityStageChange
from crm.models import BusinessUnit, TimelineEvent, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_stage_history_and_lost_reason(
    make_account: Callable[..., Account], rep_a: User, unit_a: BusinessUnit, stages: dict
):
    opp = services.create_opportunity(
        account=make_account(),
        name="车队采购",
        owner=rep_a,
        business_unit=unit_a,
        user=rep_a,
        amount="1200000",
    )
    assert opp.stage.code == "qualification"
    services.move_opportunity(opportunity=opp, stage=stages["proposal"], user=rep_a)
    services.move_opportunity(opportunity=opp, stage=stages["proposal"], user=rep_a)  # no-op
    with pytest.raises(LostReasonRequired) as caught:
        services.move_opportunity(opportunity=opp, stage=stages["lost"], user=rep_a)
    assert caught.value.code == "lost_reason_required" and caught.value.field == "lost_reason"
    opp = services.move_opportunity(
        opportunity=opp, stage=stages["lost"], user=rep_a, lost_reason="预算取消"
    )
    assert opp.lost_reason == "预算取消"
    history = [
        (c.from_stage.code if c.from_stage else None, c.to_stage.code, c.changed_by_id)
        for c in OpportunityStageChange.objects.filter(opportunity=opp).select_related(
            "from_stage", "to_stage"
        )
    ]
    assert history == [
        (None, "qualification", rep_a.pk),
        ("qualification", "proposal", rep_a.pk),
        ("proposal", "lost", rep_a.pk),
    ]
    assert TimelineEvent.objects.filter(type="opportunity.stage_changed").count() == 2


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [("-1", "CNY", "amount"), ("abc", "CNY", "amount"), ("10", "XXQ", "currency")],
)
def test_bad_amounts_are_refused(
    make_account: Callable[..., Account], rep_a: User, unit_a: BusinessUnit, amount, currency, field
):
    with pytest.raises(OpportunityError) as caught:
        services.create_opportunity(
            account=make_account(),
            name="x",
            owner=rep_a,
            business_unit=unit_a,
            user=rep_a,
            amount=amount,
            currency=currency,
        )
    assert caught.value.field == field


def test_weighted_forecast_equals_a_hand_computation(
    make_account: Callable[..., Account],
    rep_a: User,
    manager_a: User,
    unit_a: BusinessUnit,
    stages: dict,
):
    account = make_account()
    other_unit = BusinessUnit.objects.create(code="LOG", name="物流")
    rep_other = UserFactory(username="rep_o", units=[other_unit])
    plan = [
        # owner, unit, amount, stage, close
        (rep_a, unit_a, "100000.10", "qualification", date(2027, 1, 15)),  # 10 %
        (rep_a, unit_a, "33333.33", "proposal", date(2027, 1, 31)),  # 50 %
        (manager_a, unit_a, "250000.00", "negotiation", date(2027, 2, 1)),  # 75 %
        (manager_a, unit_a, "999.99", "needs_analysis", None),  # 25 %
        (rep_a, unit_a, "500000.00", "won", date(2027, 1, 2)),  # closed: not in forecast
        (rep_other, other_unit, "70000.00", "proposal", date(2027, 2, 3)),  # other unit
    ]
    for owner, unit, amount, stage, close in plan:
        services.create_opportunity(
            account=account,
            name=f"{stage} {amount}",
            owner=owner,
            business_unit=unit,
            user=owner,
            amount=amount,
            stage=stages[stage],
            expected_close=close,
        )
    by_month = selectors.weighted_forecast(user=manager_a, group_by="month")
    assert [(r["group"], r["count"], r["amount"], r["weighted"]) for r in by_month] == [
        # 100000.10 × 0.10 + 33333.33 × 0.50 = 10000.01 + 16666.665 = 26666.675 → 26666.68
        (date(2027, 1, 1), 2, Decimal("133333.43"), Decimal("26666.68")),
        (date(2027, 2, 1), 1, Decimal("250000.00"), Decimal("187500.00")),
        (None, 1, Decimal("999.99"), Decimal("250.00")),  # 249.9975
    ]
    by_owner = {
        r["group"]: r["weighted"]
        for r in selectors.weighted_forecast(user=manager_a, group_by="owner")
    }
    assert by_owner == {rep_a.pk: Decimal("26666.68"), manager_a.pk: Decimal("187750.00")}
    admin_view = selectors.weighted_forecast(
        user=UserFactory(is_superuser=True), group_by="business_unit"
    )
    assert {r["group"]: r["weighted"] for r in admin_view} == {
        unit_a.pk: Decimal("214416.67"),  # 26666.675 + 187500 + 249.9975 = 214416.6725
        other_unit.pk: Decimal("35000.00"),
    }
    board = {r["stage"].code: r for r in selectors.stage_sums(user=manager_a)}
    assert board["won"]["amount"] == Decimal("500000.00") and board["won"]["count"] == 1
    assert board["lost"]["count"] == 0 and board["proposal"]["weighted"] == Decimal("16666.67")
    assert list(board) == [
        "qualification",
        "needs_analysis",
        "proposal",
        "negotiation",
        "won",
        "lost",
    ]
