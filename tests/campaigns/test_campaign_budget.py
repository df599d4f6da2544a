"""A campaign's budget pays for its coupons' face value: an issue for the campaign takes its
share by a conditional UPDATE (never past the budget, under concurrency too), a bulk issue
issues what the budget pays for and counts the rest, and the owner is told once when the
budget is spent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns import errors, services
from campaigns.models import Campaign, Coupon
from campaigns.services.notices import KIND_CAMPAIGN_BUDGET
from crm.models import Notification
from tests.campaigns.conftest import run_together
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(unit_a):
    return UserFactory(units=[unit_a], language="en")


def _campaign(unit, owner, budget: str) -> Campaign:
    return Campaign.objects.create(
        business_unit=unit,
        name="金秋物业季",
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate(),
        budget=Decimal(budget),
        owner=owner,
    )


def test_issues_stop_at_the_budget_and_the_owner_is_told_once(
    template, make_customer, unit_a, owner
) -> None:
    campaign = _campaign(unit_a, owner, "500")  # 200 a coupon: two, 100 left over
    for _ in range(2):
        services.issue_coupon(template=template, customer=make_customer(), campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.issued_value == Decimal("400")
    told = Notification.objects.get(recipient=owner)
    assert told.kind == KIND_CAMPAIGN_BUDGET
    assert told.title == "Campaign “金秋物业季”: its budget is spent"
    assert "CN¥500.00" in told.body
    for _ in range(3):
        with pytest.raises(errors.CampaignBudgetExhausted) as refused:
            services.issue_coupon(template=template, customer=make_customer(), campaign=campaign)
    assert refused.value.code == "campaign_budget_exhausted"
    assert Coupon.objects.filter(campaign=campaign).count() == 2
    assert Notification.objects.count() == 1  # refusals tell nobody again
    # without the campaign the template still issues (its own stock)
    services.issue_coupon(template=template, customer=make_customer())


def test_a_refused_issue_spends_nothing(template, make_customer, unit_a, owner) -> None:
    campaign = _campaign(unit_a, owner, "1000")
    customer = make_customer()
    services.issue_coupon(template=template, customer=customer, campaign=campaign)
    with pytest.raises(errors.CouponLimitReached):  # the budget was taken, then rolled back
        services.issue_coupon(template=template, customer=customer, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.issued_value == Decimal("200")


def test_a_bulk_issue_pays_what_the_budget_allows(template, make_customer, unit_a, owner) -> None:
    campaign = _campaign(unit_a, owner, "1000")  # five coupons of 200
    customers = [make_customer().pk for _ in range(8)]
    bulk = services.start_bulk_issue(
        template=template, customer_ids=customers, key="autumn", campaign=campaign, run_now=True
    )
    assert (bulk.issued, bulk.skipped_budget, bulk.skipped_stock) == (5, 3, 0)
    campaign.refresh_from_db()
    assert campaign.issued_value == Decimal("1000")
    assert Notification.objects.filter(recipient=owner, kind=KIND_CAMPAIGN_BUDGET).count() == 1
    template.refresh_from_db()
    assert template.issued_count == 5  # the stock taken only for what was issued


def test_the_database_refuses_spending_past_the_budget(unit_a, owner) -> None:
    campaign = _campaign(unit_a, owner, "100")
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(issued_value=Decimal("100.01"))


@pytest.mark.django_db(transaction=True)
def test_twenty_issues_at_once_against_a_budget_of_five(make_template, make_customer, unit_a):
    owner = UserFactory(units=[unit_a])
    template = make_template(per_customer_limit=1)
    campaign = _campaign(unit_a, owner, "1000")
    customers = [make_customer().pk for _ in range(20)]

    def issue(customer_id: int):
        return lambda: services.issue_coupon(
            template=template.pk, customer=customer_id, campaign=campaign.pk
        )

    done, refused = run_together([issue(c) for c in customers])
    assert len(done) == 5
    assert len(refused) == 15
    assert all(isinstance(e, errors.CampaignBudgetExhausted) for e in refused), refused[:3]
    campaign.refresh_from_db()
    assert campaign.issued_value == Decimal("1000")
    assert Coupon.objects.filter(campaign=campaign).count() == 5
    assert Notification.objects.filter(recipient=owner, kind=KIND_CAMPAIGN_BUDGET).count() == 1
