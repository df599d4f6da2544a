"""Marketing's campaign screens: the list searches, filters by status and unit, sorts, pages
and says when it is empty; the campaign page moves the status after a confirmation, shows the
budget used, the frozen audience, its templates and trigger rules, and starts a bulk issue to
the audience as a job; the form explains what is wrong. Query counts do not grow with rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.models import BulkIssue, Campaign, CampaignStatus, TriggerRule
from crm.models import CustomerTag, Job, Tag, TagCategory
from crm.roles import MARKETING, MEMBER_SERVICE, SALES_MANAGER
from crm.services import create_segment
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(unit_a):
    return UserFactory(username="mkt", roles=[MARKETING], units=[unit_a])


def make_campaign(unit, owner, name="购车季", **fields) -> Campaign:
    defaults = {
        "business_unit": unit,
        "name": name,
        "starts_on": date(2027, 1, 1),
        "ends_on": date(2027, 3, 31),
        "budget": Decimal("10000"),
        "owner": owner,
    }
    defaults.update(fields)
    return Campaign.objects.create(**defaults)


def test_who_may_see_and_change_campaigns(client, marketer, unit_a) -> None:
    campaign = make_campaign(unit_a, marketer)
    client.force_login(marketer)
    assert client.get(reverse("campaigns:campaign-list")).status_code == 200
    assert client.get(reverse("campaigns:campaign-create")).status_code == 200
    assert "营销活动" in client.get(reverse("home")).content.decode()  # the nav entry

    manager = UserFactory(username="mgr", roles=[SALES_MANAGER], units=[unit_a])
    client.force_login(manager)
    assert client.get(reverse("campaigns:campaign-detail", args=[campaign.pk])).status_code == 200
    assert client.get(reverse("campaigns:campaign-create")).status_code == 403
    moved = client.post(
        reverse("campaigns:campaign-move", args=[campaign.pk]), {"status": "scheduled"}
    )
    assert moved.status_code == 403

    desk = UserFactory(username="desk", roles=[MEMBER_SERVICE], units=[unit_a])
    client.force_login(desk)
    assert client.get(reverse("campaigns:campaign-list")).status_code == 403


def test_another_units_campaign_is_not_found(client, marketer, unit_b, admin_user) -> None:
    theirs = make_campaign(unit_b, admin_user, name="别家的")
    client.force_login(marketer)
    assert client.get(reverse("campaigns:campaign-detail", args=[theirs.pk])).status_code == 404
    listing = client.get(reverse("campaigns:campaign-list")).content.decode()
    assert "别家的" not in listing


def test_the_list_searches_filters_sorts_and_pages(client, marketer, unit_a) -> None:
    client.force_login(marketer)
    empty = client.get(reverse("campaigns:campaign-list")).content.decode()
    assert "还没有营销活动。" in empty
    for n in range(27):
        make_campaign(unit_a, marketer, name=f"活动{n:02d}", budget=Decimal(100 + n))
    active = make_campaign(unit_a, marketer, name="春节促销", goal="拉新")
    Campaign.objects.filter(pk=active.pk).update(status=CampaignStatus.ACTIVE)
    url = reverse("campaigns:campaign-list")

    first = client.get(url, {"sort": "name"}).content.decode()
    assert first.count('data-testid="campaign-row"') == 25
    second = client.get(url, {"sort": "name", "page": 2}).content.decode()
    assert second.count('data-testid="campaign-row"') == 3
    assert "春节促销" in client.get(url, {"q": "拉新"}).content.decode()
    only_active = client.get(url, {"status": "active"}).content.decode()
    assert only_active.count('data-testid="campaign-row"') == 1 and "春节促销" in only_active
    by_budget = client.get(url, {"sort": "-budget"}).content.decode()
    assert by_budget.index("春节促销") < by_budget.index("活动26")
    none = client.get(url, {"q": "不存在"}).content.decode()
    assert "没有符合这些筛选条件的营销活动。" in none


def test_the_list_runs_a_fixed_number_of_queries(
    client, marketer, unit_a, django_assert_num_queries
) -> None:
    for n in range(3):
        make_campaign(unit_a, marketer, name=f"活动{n}")
    client.force_login(marketer)
    url = reverse("campaigns:campaign-list")
    client.get(url)
    with django_assert_num_queries(5) as first:
        client.get(url)
    for n in range(3, 20):
        make_campaign(unit_a, marketer, name=f"活动{n}")
    with django_assert_num_queries(len(first.captured_queries)):
        client.get(url)


def test_the_form_explains_what_is_wrong_and_saves(client, marketer, unit_a) -> None:
    client.force_login(marketer)
    url = reverse("campaigns:campaign-create")
    bad = client.post(
        url,
        {
            "business_unit": unit_a.pk,
            "name": "",
            "starts_on": "2027-03-01",
            "ends_on": "2027-02-01",
            "budget": "-5",
        },
    )
    page = bad.content.decode()
    assert bad.status_code == 200
    assert "活动结束日期不能早于开始日期。" in page
    assert "预算不能为负数。" in page
    assert not Campaign.objects.exists()
    good = client.post(
        url,
        {
            "business_unit": unit_a.pk,
            "name": "购车送物业费",
            "starts_on": "2027-03-01",
            "ends_on": "2027-04-01",
            "budget": "50000",
            "channels": ["sms", "wechat"],
        },
    )
    campaign = Campaign.objects.get()
    assert good.status_code == 302 and good["Location"].endswith(f"/campaigns/{campaign.pk}/")
    assert campaign.owner == marketer and campaign.channels == ["sms", "wechat"]


def test_the_page_moves_the_status_and_issues_to_the_frozen_audience(
    client,
    marketer,
    unit_a,
    make_customer,
    make_template,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
) -> None:
    tag = Tag.objects.create(category=TagCategory.objects.create(name="分层"), name="车主")
    owners = [make_customer(f"车主{n}") for n in range(3)]
    for customer in owners:
        CustomerTag.objects.create(customer=customer, tag=tag)
    segment = create_segment(
        name="车主",
        rule={"field": "customer.tags", "op": "has_any", "value": [tag.pk]},
        owner=marketer,
    )
    template = make_template(value=Decimal("100"), minimum_spend=Decimal("0"))
    TriggerRule.objects.create(
        name="买车送物业费",
        event_type="transaction",
        source_business_unit=unit_a,
        template=template,
        funding_business_unit=unit_a,
        budget_count=10,
        budget_value=Decimal("1000"),
        owner=marketer,
    )
    campaign = make_campaign(unit_a, marketer, target_segment=segment)
    client.force_login(marketer)
    url = reverse("campaigns:campaign-detail", args=[campaign.pk])
    page = client.get(url).content.decode()
    assert "活动开始时冻结" in page and "买车送物业费" in page
    assert 'data-testid="campaign-move-scheduled"' in page and "data-confirm=" in page

    refused = client.post(
        reverse("campaigns:campaign-move", args=[campaign.pk]), {"status": "active"}, follow=True
    )
    assert "不能从" in refused.content.decode()
    for status in ("scheduled", "active"):
        client.post(reverse("campaigns:campaign-move", args=[campaign.pk]), {"status": status})
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.ACTIVE and campaign.audience_snapshot_id

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            reverse("campaigns:campaign-issue", args=[campaign.pk]), {"template": template.pk}
        )
    assert started.status_code == 302
    bulk = BulkIssue.objects.get(campaign=campaign)
    assert bulk.requested == 3 and bulk.job_id is not None
    from crm.jobs import run_job

    assert run_job(bulk.job_id) == "succeeded"
    page = client.get(url).content.decode()
    assert 'data-testid="job-progress"' in page and "3 位客户" in page
    assert 'data-testid="budget-used"' in page

    client.get(url)
    with django_assert_num_queries(7) as first:
        client.get(url)
    make_template(name="第二张券")
    more = [make_customer(f"新{n}") for n in range(5)]
    services.issue_coupon(template=template, customer=more[0], campaign=campaign)
    with django_assert_num_queries(len(first.captured_queries)):
        client.get(url)
    assert Job.objects.filter(pk=bulk.job_id).exists()


def test_editing_keeps_the_frozen_audience_and_the_issued_budget(
    client, marketer, unit_a, admin_user
) -> None:
    segment = create_segment(
        name="全部", rule={"field": "customer.tags", "op": "is_not_empty"}, owner=marketer
    )
    other = create_segment(
        name="另一群", rule={"field": "customer.tags", "op": "is_empty"}, owner=marketer
    )
    campaign = make_campaign(unit_a, marketer, target_segment=segment)
    for status in ("scheduled", "active"):
        campaign = services.change_campaign_status(campaign=campaign, status=status)
    Campaign.objects.filter(pk=campaign.pk).update(issued_value=Decimal("800"))
    client.force_login(marketer)
    url = reverse("campaigns:campaign-edit", args=[campaign.pk])
    assert "活动开始时已冻结受众" in client.get(url).content.decode()
    refused = client.post(
        url,
        {
            "business_unit": unit_a.pk,
            "name": "改名",
            "starts_on": "2027-01-01",
            "ends_on": "2027-03-31",
            "budget": "500",
            "target_segment": other.pk,
        },
    )
    assert "已发放面值 800.00 的券，预算不能低于此数。" in refused.content.decode()
    saved = client.post(
        url,
        {
            "business_unit": unit_a.pk,
            "name": "改名",
            "starts_on": "2027-01-01",
            "ends_on": "2027-03-31",
            "budget": "900",
            "target_segment": other.pk,
        },
    )
    assert saved.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "改名" and campaign.target_segment_id == segment.pk

    ended = services.change_campaign_status(campaign=campaign, status=CampaignStatus.ENDED)
    gone = client.get(reverse("campaigns:campaign-edit", args=[ended.pk]), follow=True)
    assert "已结束的活动不能编辑。" in gone.content.decode()
