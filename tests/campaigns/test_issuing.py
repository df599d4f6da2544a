"""Issuing at the desk, for points, in bulk (a re-run issues nothing twice); campaigns' status
machine; funding shares; a merge moves coupons and the limit counts both customers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns import errors, services
from campaigns.models import (
    BulkIssue,
    BulkIssueStatus,
    Campaign,
    CampaignStatus,
    Coupon,
    CouponHolding,
    CouponStatus,
    IssueSource,
)
from crm.errors import DomainError
from crm.models import Job
from crm.services import merge_customers
from crm.services.blacklist import CustomerBlacklisted
from members.errors import InsufficientPoints
from members.models import EarningRule, PointsEntry
from tests.factories import BusinessUnitFactory

pytestmark = pytest.mark.django_db


def blacklist(customer, user) -> None:
    from django.utils import timezone

    from crm.models.blacklist import BlacklistEntry, BlacklistReason, BlacklistStatus

    BlacklistEntry.objects.create(
        customer=customer,
        reason=BlacklistReason.FRAUD,
        evidence="x",
        status=BlacklistStatus.ACTIVE,
        proposed_by=user,
        decided_at=timezone.now(),
    )


def test_desk_issue_respects_limit_stock_and_blacklist(
    make_template, make_customer, admin_user
) -> None:
    template = make_template(stock=2, per_customer_limit=1)
    first = make_customer()
    coupon = services.issue_coupon(template=template, customer=first, actor=admin_user)
    assert coupon.status == CouponStatus.ISSUED and coupon.issued_by == admin_user
    assert coupon.valid_until > coupon.valid_from
    assert coupon.face_value == Decimal("200")
    with pytest.raises(errors.CouponLimitReached) as limit:
        services.issue_coupon(template=template, customer=first)
    assert limit.value.code == "coupon_limit_reached"
    barred = make_customer()
    blacklist(barred, admin_user)
    with pytest.raises(CustomerBlacklisted):
        services.issue_coupon(template=template, customer=barred)
    services.issue_coupon(template=template, customer=make_customer())
    with pytest.raises(errors.CouponExhausted) as exhausted:
        services.issue_coupon(template=template, customer=make_customer())
    assert exhausted.value.code == "coupon_exhausted"
    template.refresh_from_db()
    assert template.issued_count == 2


def test_points_exchange_spends_and_issues_in_one_transaction(
    make_template, make_customer, unit_a
) -> None:
    from crm.services import IdentityInput
    from members import services as members

    EarningRule.objects.create(business_unit=unit_a, points_per_unit=Decimal("1"))
    member = members.enrol_member(
        business_unit=unit_a,
        channel="store",
        identities=[IdentityInput("mobile", "+8613600000001")],
        attributes={"display_name": "赵六"},
    ).member
    members.earn_points(member=member, business_unit=unit_a, reference="O-1", amount=1500)
    template = make_template(points_price=1000, stock=1)
    exchange = services.exchange_points_for_coupon(template=template, member=member, reference="X1")
    assert exchange.coupon.source == IssueSource.POINTS and not exchange.replayed
    again = services.exchange_points_for_coupon(template=template, member=member, reference="X1")
    assert again.replayed and again.coupon.pk == exchange.coupon.pk
    member.refresh_from_db()
    assert member.points_balance == 500
    # Out of stock: the points are not spent either.
    other = members.enrol_member(
        business_unit=unit_a,
        channel="store",
        identities=[IdentityInput("mobile", "+8613600000002")],
    ).member
    members.earn_points(member=other, business_unit=unit_a, reference="O-2", amount=1500)
    with pytest.raises(errors.CouponExhausted):
        services.exchange_points_for_coupon(template=template, member=other, reference="X2")
    other.refresh_from_db()
    assert other.points_balance == 1500
    assert not PointsEntry.objects.filter(member=other, kind="redeem").exists()
    poor = make_template(points_price=99999)
    with pytest.raises(InsufficientPoints):
        services.exchange_points_for_coupon(template=poor, member=other, reference="X3")
    assert not Coupon.objects.filter(customer=other.customer).exists()


def test_a_bulk_rerun_issues_nothing_twice(make_template, make_customer, admin_user) -> None:
    template = make_template(stock=10)
    customers = [make_customer().pk for _ in range(6)]
    barred = make_customer()
    blacklist(barred, admin_user)
    holder = customers[0]
    services.issue_coupon(template=template, customer=holder)  # already at the limit of 1
    ids = [*customers, barred.pk, customers[1]]
    bulk = services.start_bulk_issue(
        template=template, customer_ids=ids, key="NY-2027", run_now=True
    )
    assert (bulk.issued, bulk.skipped_limit, bulk.skipped_blacklisted) == (5, 1, 1)
    assert bulk.status == BulkIssueStatus.DONE
    again = services.start_bulk_issue(
        template=template, customer_ids=ids, key="NY-2027", run_now=True
    )
    assert again.pk == bulk.pk and again.issued == 5
    assert Coupon.objects.filter(template=template).count() == 6
    template.refresh_from_db()
    assert template.issued_count == 6
    with pytest.raises(errors.ReferenceReused):
        services.start_bulk_issue(template=template, customer_ids=ids[:2], key="NY-2027")


def test_a_bulk_issue_runs_as_a_job_with_progress(template, make_customer, admin_user) -> None:
    ids = [make_customer().pk for _ in range(3)]
    bulk = services.start_bulk_issue(
        template=template, customer_ids=ids, key="job-1", user=admin_user
    )
    job = Job.objects.get(pk=bulk.job_id)
    from crm.jobs import run_job

    assert run_job(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.progress == 100 and job.result["issued"] == 3
    assert BulkIssue.objects.get(pk=bulk.pk).issued == 3


def test_campaign_status_machine(unit_a, admin_user) -> None:
    from datetime import date

    campaign = Campaign.objects.create(
        business_unit=unit_a,
        name="购车季",
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 3, 31),
        budget=Decimal("100000"),
        owner=admin_user,
    )
    assert campaign.can_become(CampaignStatus.SCHEDULED)
    assert not campaign.can_become(CampaignStatus.ACTIVE)
    with pytest.raises(errors.CampaignTransitionRefused) as refused:
        services.change_campaign_status(campaign=campaign, status=CampaignStatus.PAUSED)
    assert refused.value.code == "campaign_transition_refused"
    for step in ("scheduled", "active", "paused", "active", "ended"):
        campaign = services.change_campaign_status(campaign=campaign, status=step)
    assert campaign.status == CampaignStatus.ENDED
    with pytest.raises(errors.CampaignTransitionRefused):
        services.change_campaign_status(campaign=campaign, status=CampaignStatus.ACTIVE)


def test_funding_shares_add_up_to_a_hundred(template, unit_a, unit_b) -> None:
    with pytest.raises(DomainError, match="100"):
        services.set_funding(template=template, shares=[(unit_a, 60), (unit_b, 30)])
    rows = services.set_funding(template=template, shares=[(unit_a, 60), (unit_b, 40)])
    assert sorted(r.share for r in rows) == [40, 60]


def test_a_merge_moves_coupons_and_the_limit_counts_both(
    template, make_customer, unit_b, admin_user
) -> None:
    kept, lost = make_customer("张三"), make_customer("张三")
    mine = services.issue_coupon(template=template, customer=kept)
    theirs = services.issue_coupon(template=template, customer=lost)
    other_unit = BusinessUnitFactory(code="MART")
    assert other_unit.pk
    merge_customers(survivor=kept, loser=lost, actor=admin_user, reason="同一人")
    assert set(Coupon.objects.filter(customer=kept).values_list("pk", flat=True)) == {
        mine.pk,
        theirs.pk,
    }
    holding = CouponHolding.objects.get(customer=kept, template=template)
    assert (holding.issued, holding.allowed) == (2, 2)
    assert not CouponHolding.objects.filter(customer=lost).exists()
    with pytest.raises(errors.CouponLimitReached):
        services.issue_coupon(template=template, customer=kept)
    services.redeem_coupon(
        code=theirs.code, business_unit=unit_b, reference="PF-1", order_amount="900"
    )
