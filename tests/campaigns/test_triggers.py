"""Trigger rules: a car bought at the dealership issues the property company's coupon, once,
even when the event is processed twice; a blacklisted buyer gets none (with the reason); an
exhausted budget stops the rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns import errors, services
from campaigns.models import (
    TRANSACTION_EVENT,
    Coupon,
    FiringOutcome,
    IssueSource,
    TriggerFiring,
    TriggerRule,
)
from crm.models import Customer, Transaction
from crm.models.blacklist import BlacklistEntry, BlacklistReason, BlacklistStatus
from crm.services import IdentityInput, TransactionInput, ingest_transaction, record_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule(template, unit_a, admin_user) -> TriggerRule:
    return services.save_trigger_rule(
        TriggerRule(
            name="买车送物业费",
            event_type=TRANSACTION_EVENT,
            source_business_unit=unit_a,
            min_amount=Decimal("100000"),
            template=template,
            funding_business_unit=unit_a,
            budget_count=2,
            budget_value=Decimal("10000"),
            owner=admin_user,
        )
    )


def buy(unit, phone: str, amount: str, external_id: str, capture) -> Transaction:
    with capture(execute=True):
        stored, _new = ingest_transaction(
            business_unit=unit,
            source="dms",
            row=TransactionInput(
                external_id=external_id,
                occurred_at=timezone.now(),
                amount=amount,
                channel="store",
                identities=[IdentityInput("mobile", phone)],
                customer_attributes={"display_name": "王五"},
            ),
        )
    return stored


def test_a_car_purchase_issues_the_property_coupon_once(
    rule, unit_a, unit_b, django_capture_on_commit_callbacks
) -> None:
    car = buy(unit_a, "+8613700000001", "268000", "CAR-1", django_capture_on_commit_callbacks)
    coupon = Coupon.objects.get(customer_id=car.customer_id)
    assert coupon.source == IssueSource.TRIGGER
    assert unit_b in coupon.template.redeemable_units.all()
    # The same order pushed again, and the task delivered twice: nothing more.
    buy(unit_a, "+8613700000001", "268000", "CAR-1", django_capture_on_commit_callbacks)
    assert services.fire_for_transactions([car.pk]) == {"already_fired": 1}
    assert Coupon.objects.filter(customer_id=car.customer_id).count() == 1
    firing = TriggerFiring.objects.get(rule=rule)
    assert (firing.outcome, firing.coupon_id) == (FiringOutcome.ISSUED, coupon.pk)
    rule.refresh_from_db()
    assert (rule.issued_count, rule.issued_value) == (1, Decimal("200"))


def test_small_orders_and_other_units_do_not_fire(
    rule, unit_a, unit_b, django_capture_on_commit_callbacks
) -> None:
    buy(unit_a, "+8613700000002", "800", "SVC-1", django_capture_on_commit_callbacks)
    buy(unit_b, "+8613700000003", "300000", "PF-1", django_capture_on_commit_callbacks)
    assert not Coupon.objects.exists() and not TriggerFiring.objects.exists()


def test_a_blacklisted_buyer_gets_no_coupon(
    rule, unit_a, admin_user, django_capture_on_commit_callbacks
) -> None:
    first = buy(unit_a, "+8613700000004", "1000", "SVC-2", django_capture_on_commit_callbacks)
    BlacklistEntry.objects.create(
        customer_id=first.customer_id,
        reason=BlacklistReason.FRAUD,
        evidence="判决书",
        status=BlacklistStatus.ACTIVE,
        proposed_by=admin_user,
        decided_at=timezone.now(),
    )
    buy(unit_a, "+8613700000004", "300000", "CAR-2", django_capture_on_commit_callbacks)
    assert not Coupon.objects.exists()
    firing = TriggerFiring.objects.get()
    assert firing.outcome == FiringOutcome.SKIPPED_BLACKLISTED
    assert "blacklisted" in firing.reason or "黑名单" in firing.reason
    rule.refresh_from_db()
    assert rule.issued_count == 0  # the budget paid nothing


def test_an_exhausted_budget_stops_the_rule(
    rule, unit_a, django_capture_on_commit_callbacks
) -> None:
    for n in range(4):
        buy(unit_a, f"+861370000010{n}", "200000", f"CAR-{n}", django_capture_on_commit_callbacks)
    assert Coupon.objects.count() == 2
    rule.refresh_from_db()
    assert not rule.is_active and rule.exhausted_at is not None
    assert (rule.issued_count, rule.issued_value) == (2, Decimal("400"))
    outcomes = list(TriggerFiring.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == [FiringOutcome.ISSUED, FiringOutcome.ISSUED, FiringOutcome.BUDGET_EXHAUSTED]
    stopped = TriggerFiring.objects.get(outcome=FiringOutcome.BUDGET_EXHAUSTED)
    assert rule.name in stopped.reason  # what the owner is told


def test_a_rule_on_a_timeline_event_with_a_detail(
    template, unit_a, admin_user, make_customer, django_capture_on_commit_callbacks
) -> None:
    services.save_trigger_rule(
        TriggerRule(
            name="金卡礼遇",
            event_type="member.level_changed",
            source_business_unit=None,
            data_key="level",
            data_value="金卡",
            template=template,
            funding_business_unit=unit_a,
            budget_count=10,
            budget_value=Decimal("5000"),
            owner=admin_user,
        )
    )
    gold, silver = make_customer(), make_customer()
    with django_capture_on_commit_callbacks(execute=True):
        record_event(
            customer=gold, type="member.level_changed", summary="x", data={"level": "金卡"}
        )
        record_event(
            customer=silver, type="member.level_changed", summary="x", data={"level": "银卡"}
        )
    assert list(Coupon.objects.values_list("customer_id", flat=True)) == [gold.pk]
    assert Customer.objects.count() == 2


def test_a_rule_is_checked_when_saved(template, unit_b, admin_user) -> None:
    with pytest.raises(errors.InvalidCouponRequest) as unfunded:
        services.save_trigger_rule(
            TriggerRule(
                name="x",
                event_type=TRANSACTION_EVENT,
                template=template,
                funding_business_unit=unit_b,
                budget_count=1,
                budget_value=1,
                owner=admin_user,
            )
        )
    assert unfunded.value.field == "funding_business_unit"
    with pytest.raises(errors.InvalidCouponRequest):
        services.save_trigger_rule(
            TriggerRule(
                name="x",
                event_type="no.such.event",
                template=template,
                funding_business_unit=template.business_unit,
                budget_count=1,
                budget_value=1,
                owner=admin_user,
            )
        )
