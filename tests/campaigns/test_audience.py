"""A campaign's audience: its target segment's members frozen when the campaign starts.
Customers who join the segment later are not in it; pausing and resuming keeps it; bulk
issue "to the campaign's audience" issues to exactly those customers, once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import ProtectedError

from campaigns import errors, services
from campaigns.models import Campaign, CampaignStatus, Coupon
from crm.models import CustomerTag, Segment, SegmentMode, SegmentSnapshot, Tag, TagCategory
from crm.services import create_segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip_tag():
    category = TagCategory.objects.create(name="客户分层")
    return Tag.objects.create(category=category, name="贵宾")


@pytest.fixture
def vips(vip_tag, admin_user):
    return create_segment(
        name="贵宾客户",
        rule={"field": "customer.tags", "op": "has_any", "value": [vip_tag.pk]},
        owner=admin_user,
    )


def tag(customer, vip_tag) -> None:
    CustomerTag.objects.create(customer=customer, tag=vip_tag)


@pytest.fixture
def campaign(unit_a, admin_user, vips):
    return Campaign.objects.create(
        business_unit=unit_a,
        name="贵宾回馈",
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 3, 31),
        budget=Decimal("100000"),
        owner=admin_user,
        target_segment=vips,
    )


def start(campaign: Campaign) -> Campaign:
    for step in (CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE):
        campaign = services.change_campaign_status(campaign=campaign, status=step)
    return campaign


def test_starting_freezes_the_segment_members_as_the_audience(
    campaign, vips, vip_tag, make_customer
) -> None:
    early = [make_customer(f"早{n}") for n in range(3)]
    for customer in early:
        tag(customer, vip_tag)
    make_customer("路人")
    scheduled = services.change_campaign_status(campaign=campaign, status=CampaignStatus.SCHEDULED)
    assert scheduled.audience_snapshot_id is None  # nothing frozen before the start

    started = services.change_campaign_status(campaign=campaign, status=CampaignStatus.ACTIVE)

    snapshot = SegmentSnapshot.objects.get(pk=started.audience_snapshot_id)
    assert snapshot.segment_id == vips.pk and snapshot.member_count == 3
    assert services.audience_ids(started) == sorted(c.pk for c in early)
    # The segment itself stays live: the campaign froze its own copy.
    assert Segment.objects.get(pk=vips.pk).mode == SegmentMode.LIVE


def test_customers_added_later_are_not_in_the_audience(campaign, vip_tag, make_customer) -> None:
    first = make_customer("先来")
    tag(first, vip_tag)
    started = start(campaign)
    later = make_customer("后到")
    tag(later, vip_tag)

    paused = services.change_campaign_status(campaign=started, status=CampaignStatus.PAUSED)
    resumed = services.change_campaign_status(campaign=paused, status=CampaignStatus.ACTIVE)

    assert resumed.audience_snapshot_id == started.audience_snapshot_id  # not re-frozen
    assert services.audience_ids(resumed) == [first.pk]
    assert SegmentSnapshot.objects.count() == 1


def test_bulk_issue_to_the_audience_issues_once_to_its_members(
    campaign, vip_tag, make_customer, make_template
) -> None:
    members = [make_customer(f"会员{n}") for n in range(4)]
    for customer in members:
        tag(customer, vip_tag)
    started = start(campaign)
    tag(make_customer("迟到"), vip_tag)
    template = make_template(value=Decimal("50"), minimum_spend=Decimal("0"))

    bulk = services.start_audience_issue(campaign=started, template=template, run_now=True)
    again = services.start_audience_issue(campaign=started, template=template, run_now=True)

    assert again.pk == bulk.pk
    issued = Coupon.objects.filter(campaign=started)
    assert sorted(issued.values_list("customer_id", flat=True)) == sorted(m.pk for m in members)
    started.refresh_from_db()
    assert started.issued_value == Decimal("200")


def test_no_audience_without_a_segment_or_before_the_start(
    unit_a, admin_user, campaign, make_template
) -> None:
    template = make_template()
    with pytest.raises(errors.NoAudience):
        services.start_audience_issue(campaign=campaign, template=template)  # still a draft
    plain = Campaign.objects.create(
        business_unit=unit_a,
        name="无人群",
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 1, 31),
        budget=Decimal("100"),
        owner=admin_user,
    )
    plain = start(plain)
    assert plain.audience_snapshot_id is None
    with pytest.raises(errors.NoAudience) as refused:
        services.start_audience_issue(campaign=plain, template=template)
    assert refused.value.code == "campaign_no_audience"


def test_illegal_transitions_are_still_refused_and_freeze_nothing(campaign) -> None:
    with pytest.raises(errors.CampaignTransitionRefused):
        services.change_campaign_status(campaign=campaign, status=CampaignStatus.ACTIVE)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and campaign.audience_snapshot_id is None
    assert not SegmentSnapshot.objects.exists()
    ended = services.change_campaign_status(
        campaign=services.change_campaign_status(
            campaign=campaign, status=CampaignStatus.SCHEDULED
        ),
        status=CampaignStatus.ENDED,
    )
    with pytest.raises(errors.CampaignTransitionRefused):
        services.change_campaign_status(campaign=ended, status=CampaignStatus.ACTIVE)
    assert not SegmentSnapshot.objects.exists()


def test_a_targeted_segment_cannot_be_deleted(campaign, vips) -> None:
    with pytest.raises(ProtectedError):
        vips.delete()
