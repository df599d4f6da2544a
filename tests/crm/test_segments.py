"""Segments: marketing builds one in the builder with a live count and a preview (masked
identities), saves, edits, freezes and deletes it after a confirmation; the list searches,
sorts and pages; exports go through the shared export job; frozen members stay put."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from crm import selectors, services
from crm.models import (
    Customer,
    Identity,
    Job,
    JobStatus,
    Segment,
    SegmentMode,
    SegmentSnapshot,
    Transaction,
)
from crm.roles import MARKETING, SALES_REP
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BUYERS = {"field": "purchases.count", "op": "gte", "value": 1}


@pytest.fixture
def marketer(unit_a):
    return UserFactory(username="mkt", roles=[MARKETING], units=[unit_a])


def person(name: str, phone: str | None = None) -> Customer:
    customer = Customer.objects.create(display_name=name)
    if phone:
        Identity.objects.create(customer=customer, type="mobile", value=phone)
    return customer


def buy(customer, unit, amount="100.00", days=1, n=[0]):  # noqa: B006 (a counter)
    n[0] += 1
    Transaction.objects.create(
        business_unit=unit,
        customer=customer,
        source="t",
        external_id=f"o{n[0]}",
        channel="store",
        amount=amount,
        occurred_at=datetime.now(UTC) - timedelta(days=days),
    )


def test_marketing_may_build_segments_and_a_sales_rep_may_not(client, marketer, unit_a):
    client.force_login(marketer)
    assert client.get(reverse("segment-list")).status_code == 200
    assert client.get(reverse("segment-create")).status_code == 200
    client.force_login(UserFactory(roles=[SALES_REP], units=[unit_a]))
    assert client.get(reverse("segment-list")).status_code == 403
    assert client.post(reverse("segment-count"), {"rule": json.dumps(BUYERS)}).status_code == 403


def test_the_live_count_shows_the_matches_and_a_masked_preview(client, marketer, unit_a):
    buyer = person("王伟", "+8613800138000")
    buy(buyer, unit_a)
    person("李娜", "+8613900139000")
    client.force_login(marketer)
    page = client.post(
        reverse("segment-count"), {"rule": json.dumps(BUYERS)}, HTTP_HX_REQUEST="true"
    )
    html = page.content.decode()
    assert page.context["count"] == 1
    assert "王伟" in html and "李娜" not in html
    assert "13800138000" not in html and "138****8000" in html


def test_the_live_count_names_what_is_wrong_with_the_rule(client, marketer):
    client.force_login(marketer)
    rule = {"all": [{"field": "purchases.count", "op": "gte", "value": "lots"}]}
    page = client.post(reverse("segment-count"), {"rule": json.dumps(rule)})
    assert page.context["state"] == "errors"
    assert 'data-rule-error-path="all[0].value"' in page.content.decode()
    assert client.post(reverse("segment-count"), {"rule": "{not json"}).context["state"] == "errors"


def test_the_builder_page_wires_the_debounced_count(client, marketer):
    client.force_login(marketer)
    html = client.get(reverse("segment-create")).content.decode()
    assert 'hx-trigger="rulechange from:#segment-rule delay:600ms"' in html
    assert "rule_builder.js" in html and 'id="segment-rule-catalogue"' in html


def test_save_edit_and_delete_a_segment(client, marketer, unit_a):
    client.force_login(marketer)
    created = client.post(
        reverse("segment-create"),
        {"name": "  买过的人 ", "description": "至少一次", "rule": json.dumps(BUYERS)},
    )
    segment = Segment.objects.get()
    assert created.url == reverse("segment-detail", args=[segment.pk])
    assert (segment.name, segment.owner, segment.mode) == ("买过的人", marketer, SegmentMode.LIVE)

    dup = client.post(reverse("segment-create"), {"name": "买过的人", "rule": json.dumps(BUYERS)})
    assert dup.status_code == 200 and "已存在" in dup.content.decode()

    bad = client.post(
        reverse("segment-edit", args=[segment.pk]),
        {"name": "买过的人", "rule": json.dumps({"field": "nope", "op": "eq", "value": 1})},
    )
    assert bad.status_code == 200 and "未知字段" in bad.content.decode()
    segment.refresh_from_db()
    assert segment.rule == BUYERS

    rule = {"field": "customer.kind", "op": "in", "value": ["organization"]}
    client.post(
        reverse("segment-edit", args=[segment.pk]), {"name": "企业", "rule": json.dumps(rule)}
    )
    segment.refresh_from_db()
    assert (segment.name, segment.rule) == ("企业", rule)

    detail = client.get(reverse("segment-detail", args=[segment.pk])).content.decode()
    assert "data-confirm=" in detail and reverse("segment-delete", args=[segment.pk]) in detail
    assert client.get(reverse("segment-delete", args=[segment.pk])).status_code == 405
    client.post(reverse("segment-delete", args=[segment.pk]))
    assert not Segment.objects.exists()


def test_a_frozen_segment_keeps_its_members_until_frozen_again(client, marketer, unit_a):
    first = person("甲")
    buy(first, unit_a)
    segment = services.create_segment(name="买家", rule=BUYERS, owner=marketer)
    client.force_login(marketer)
    client.post(reverse("segment-freeze", args=[segment.pk]))
    segment.refresh_from_db()
    assert segment.mode == SegmentMode.FROZEN
    later = person("乙")
    buy(later, unit_a)
    assert set(selectors.segment_customers(segment)) == {first}
    assert selectors.segment_count(segment) == 1
    assert set(selectors.rule_customers(segment.rule)) == {first, later}

    # a member merged since reads as its survivor
    survivor = person("丙")
    Customer.objects.filter(pk=first.pk).update(merged_into=survivor, merged_at=datetime.now(UTC))
    assert set(selectors.segment_customers(segment)) == {survivor}

    client.post(reverse("segment-freeze", args=[segment.pk]))
    assert SegmentSnapshot.objects.filter(segment=segment).count() == 2
    assert selectors.latest_snapshot(segment).member_count == 1  # 乙 (甲 is a tombstone now)
    client.post(reverse("segment-live", args=[segment.pk]))
    segment.refresh_from_db()
    assert segment.mode == SegmentMode.LIVE


def test_the_list_searches_sorts_pages_and_says_when_it_is_empty(client, marketer):
    client.force_login(marketer)
    empty = client.get(reverse("segment-list")).content.decode()
    assert 'data-testid="empty-state"' in empty and reverse("segment-create") in empty
    for n in range(30):
        services.create_segment(name=f"人群{n:02d}", rule=BUYERS, owner=marketer)
    services.create_segment(name="高价值", description="VIP", rule=BUYERS, owner=marketer)
    page = client.get(reverse("segment-list"))
    assert len(page.context["page"].object_list) == 25
    assert page.context["page"].paginator.count == 31
    desc = client.get(reverse("segment-list"), {"sort": "-name"}).context["page"].object_list
    assert desc[0].name == "高价值"
    found = client.get(reverse("segment-list"), {"q": "vip"}).context["page"].object_list
    assert [s.name for s in found] == ["高价值"]
    none = client.get(reverse("segment-list"), {"q": "无此"}).content.decode()
    assert "没有符合此搜索的人群。" in none


def test_the_list_runs_a_fixed_number_of_queries(
    client, marketer, unit_a, django_assert_num_queries
):
    from crm.models import Tag, TagCategory

    tag = Tag.objects.create(category=TagCategory.objects.create(name="价值"), name="VIP")
    for n in range(5):
        services.create_segment(name=f"人群{n}", rule=BUYERS, owner=marketer)
    client.force_login(marketer)
    client.get(reverse("segment-list"))
    with django_assert_num_queries(4) as first:
        client.get(reverse("segment-list"))
    for n in range(5, 20):  # rules naming tags and units: their names read once per page
        rule = {
            "all": [
                {"field": "customer.tags", "op": "has_any", "value": [tag.pk]},
                {
                    "field": "purchases.count",
                    "op": "gte",
                    "value": 1,
                    "params": {"unit": unit_a.pk},
                },
            ]
        }
        services.create_segment(name=f"人群{n}", rule=rule, owner=marketer)
    with django_assert_num_queries(len(first.captured_queries) + 2):  # tag and unit names
        page = client.get(reverse("segment-list"))
    assert "价值: VIP" in page.content.decode()


def test_the_members_export_through_the_shared_job_masked_and_formula_safe(
    client, marketer, unit_a, django_capture_on_commit_callbacks
):
    buyer = person("=HYPERLINK(1)", "+8613800138000")
    buy(buyer, unit_a)
    segment = services.create_segment(name="导出", rule=BUYERS, owner=marketer)
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            reverse("export-start"),
            {
                "list_key": selectors.SEGMENT_LIST_KEY,
                "query": f"segment={segment.pk}",
                "format": "csv",
            },
        )
    job = Job.objects.get()
    assert started.url == reverse("job-detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["rows"] == 1
    body = b"".join(client.get(reverse("export-download", args=[job.pk])).streaming_content)
    text = body.decode("utf-8-sig")
    assert "138****8000" in text and "13800138000" not in text
    assert "'=HYPERLINK(1)" in text


def test_marketing_finds_their_segments_on_the_home_page(client, marketer):
    client.force_login(marketer)
    empty = client.get(reverse("home")).content.decode()
    assert "你还没有人群" in empty
    services.create_segment(name="复购人群", rule=BUYERS, owner=marketer)
    html = client.get(reverse("home")).content.decode()
    assert "我的人群" in html and "复购人群" in html
