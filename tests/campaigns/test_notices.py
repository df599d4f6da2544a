"""The campaign's people are told when something runs out, once per exhaustion: a trigger
rule's budget (its owner), a template's stock (its creator, the owners of the rules issuing
it, the owner of the campaign whose issue took the last coupon)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns import errors, services
from campaigns.models import TRANSACTION_EVENT, Campaign, FiringOutcome, TriggerRule
from campaigns.services.notices import KIND_BUDGET, KIND_STOCK
from crm.models import Notification
from tests.campaigns.conftest import run_together
from tests.campaigns.test_triggers import buy
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _rule(template, unit, owner, **fields) -> TriggerRule:
    values = {
        "name": "买车送物业费",
        "event_type": TRANSACTION_EVENT,
        "source_business_unit": unit,
        "min_amount": Decimal("100000"),
        "template": template,
        "funding_business_unit": unit,
        "budget_count": 2,
        "budget_value": Decimal("10000"),
        "owner": owner,
    }
    values.update(fields)
    return services.save_trigger_rule(TriggerRule(**values))


def test_an_exhausted_budget_tells_the_rule_owner_once(
    template, unit_a, make_customer, django_capture_on_commit_callbacks
) -> None:
    owner = UserFactory(units=[unit_a], language="en")
    rule = _rule(template, unit_a, owner)
    for n in range(5):
        buy(unit_a, f"+861370000020{n}", "200000", f"CAR-{n}", django_capture_on_commit_callbacks)
    rule.refresh_from_db()
    assert not rule.is_active
    told = Notification.objects.get(recipient=owner)  # one, though three cars found no budget
    assert told.kind == KIND_BUDGET
    assert told.title == "Trigger rule “买车送物业费” stopped: its budget is exhausted"
    assert "2 of 2 coupons" in told.body and "400.00 of" in told.body
    assert told.link == f"/admin/campaigns/triggerrule/{rule.pk}/change/"
    # the stopped rule processing another event (a late task) tells nobody again
    late = make_customer().pk
    firing = services.fire_rule(rule.pk, event_key="transaction:late", customer_id=late)
    assert firing is not None and firing.outcome == FiringOutcome.INACTIVE
    assert Notification.objects.count() == 1


def test_the_budget_notice_is_in_the_owners_language(template, unit_a, make_customer) -> None:
    owner = UserFactory(units=[unit_a], language="zh-hans")
    rule = _rule(template, unit_a, owner, budget_count=1)
    services.fire_rule(rule.pk, event_key="e:1", customer_id=make_customer().pk)
    services.fire_rule(rule.pk, event_key="e:2", customer_id=make_customer().pk)
    told = Notification.objects.get(recipient=owner)
    assert told.title == "触发规则“买车送物业费”已停止：预算已用完"


def test_the_last_coupon_of_a_template_tells_its_people_once(
    make_template, make_customer, unit_a
) -> None:
    creator = UserFactory(units=[unit_a], language="en")
    rule_owner = UserFactory(units=[unit_a])
    campaign_owner = UserFactory(units=[unit_a])
    template = make_template(stock=2, created_by=creator)
    _rule(template, unit_a, rule_owner)
    campaign = Campaign.objects.create(
        business_unit=unit_a,
        name="金秋",
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate(),
        budget=Decimal("1000"),
        owner=campaign_owner,
    )
    services.issue_coupon(template=template, customer=make_customer())
    assert not Notification.objects.exists()
    services.issue_coupon(template=template, customer=make_customer(), campaign=campaign)
    told = Notification.objects.filter(kind=KIND_STOCK)
    assert sorted(told.values_list("recipient_id", flat=True)) == sorted(
        [creator.pk, rule_owner.pk, campaign_owner.pk]
    )
    english = told.get(recipient=creator)
    assert english.title == "Coupon template “物业费抵扣券 200 元” is out of stock"
    assert "2 coupons" in english.body
    assert english.link == f"/admin/campaigns/coupontemplate/{template.pk}/change/"
    assert told.get(recipient=rule_owner).title == "优惠券模板“物业费抵扣券 200 元”库存已用完"
    # refusals after the exhaustion tell nobody
    for _ in range(3):
        with pytest.raises(errors.CouponExhausted):
            services.issue_coupon(template=template, customer=make_customer())
    assert Notification.objects.count() == 3


def test_an_issue_rolled_back_tells_nobody(make_template, make_customer, unit_a) -> None:
    creator = UserFactory(units=[unit_a])
    template = make_template(stock=2, per_customer_limit=1, created_by=creator)
    customer = make_customer()
    services.issue_coupon(template=template, customer=customer)
    # the same customer again: the last coupon is taken, then the limit refuses: rolled back
    with pytest.raises(errors.CouponLimitReached):
        services.issue_coupon(template=template, customer=customer)
    assert not Notification.objects.exists()
    services.issue_coupon(template=template, customer=make_customer())
    assert Notification.objects.filter(recipient=creator, kind=KIND_STOCK).count() == 1


def test_a_bulk_issue_that_empties_the_stock_tells_once(
    make_template, make_customer, unit_a
) -> None:
    creator = UserFactory(units=[unit_a])
    template = make_template(stock=5, created_by=creator)
    customers = [make_customer().pk for _ in range(8)]
    bulk = services.start_bulk_issue(
        template=template, customer_ids=customers, key="autumn", run_now=True
    )
    assert (bulk.issued, bulk.skipped_stock) == (5, 3)
    services.start_bulk_issue(template=template, customer_ids=customers, key="autumn", run_now=True)
    assert Notification.objects.filter(recipient=creator, kind=KIND_STOCK).count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_bulk_issues_at_once_tell_once(make_template, make_customer, unit_a) -> None:
    creator = UserFactory(units=[unit_a])
    template = make_template(stock=50, created_by=creator)
    customers = [make_customer().pk for _ in range(100)]

    def bulk(n: int):
        return lambda: services.start_bulk_issue(
            template=template.pk,
            customer_ids=customers[n * 5 : n * 5 + 5],
            key=f"run-{n}",
            run_now=True,
        )

    done, failed = run_together([bulk(n) for n in range(20)])
    assert not failed, failed[:3]
    assert sum(b.issued for b in done) == 50
    assert Notification.objects.filter(recipient=creator, kind=KIND_STOCK).count() == 1
