"""The customer list's actions: create a customer with a live duplicate warning, tag the
selected rows or every customer matching the filter (confirmed, set-based, audited)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm import services
from crm.models import (
    Customer,
    CustomerTag,
    Identity,
    Job,
    JobStatus,
    Tag,
    TagCategory,
    TimelineEvent,
)
from crm.roles import AUDITOR, MARKETING, MEMBER_SERVICE, SALES_REP
from crm.services import IdentityInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

VALID_USCC = "91350100M000100Y43"


def make(phone: str, name: str = "", **attrs):
    attributes = {"display_name": name, **attrs} if name else dict(attrs)
    return services.resolve_customer(
        identities=[IdentityInput("mobile", phone)], attributes=attributes, source="test"
    ).customer


@pytest.fixture
def desk(unit_a):
    return UserFactory(roles=[MEMBER_SERVICE], units=[unit_a])  # the role creates customers


@pytest.fixture
def rep(unit_a):
    return UserFactory(roles=[SALES_REP], units=[unit_a])


@pytest.fixture
def marketer(unit_a):
    return UserFactory(roles=[MARKETING], units=[unit_a])


@pytest.fixture
def vip(db):
    return Tag.objects.create(category=TagCategory.objects.create(name="价值"), name="VIP")


# --- Create ---------------------------------------------------------------------------------


def test_create_needs_the_permission(client, marketer):
    client.force_login(marketer)  # marketing tags customers, it does not create them
    assert client.get(reverse("customer-create")).status_code == 403
    assert (
        client.get(reverse("customer-create-check"), {"mobile": "13800138000"}).status_code == 403
    )
    assert "customer-create" not in client.get(reverse("customer-list")).content.decode()


def test_create_a_person_through_resolution_then_open_the_360(client, desk, unit_a):
    client.force_login(desk)
    assert 'data-testid="customer-create"' in client.get(reverse("customer-list")).content.decode()
    response = client.post(
        reverse("customer-create"),
        {
            "kind": "person",
            "display_name": " 林  晓 ",
            "mobile": "+86 138-0013-8000",
            "email": "Lin.Xiao@Example.com",
            "business_unit": unit_a.pk,
        },
    )
    customer = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customer-detail", args=[customer.pk])
    assert customer.display_name == "林 晓" and customer.source == "web"
    assert set(Identity.objects.values_list("type", "value")) == {
        ("mobile", "+8613800138000"),
        ("email", "lin.xiao@example.com"),
    }
    event = TimelineEvent.objects.get(customer=customer, type="customer.created")
    assert event.actor == desk and event.business_unit == unit_a


def test_create_an_organization_with_its_credit_code(client, desk, unit_a):
    client.force_login(desk)
    client.post(
        reverse("customer-create"),
        {
            "kind": "organization",
            "display_name": "星辰贸易有限公司",
            "uscc": VALID_USCC,
            "business_unit": unit_a.pk,
        },
    )
    customer = Customer.objects.get()
    assert customer.kind == "organization"
    assert customer.identities.get().type == "uscc"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"mobile": "12345"}, "mobile"),
        ({"email": "not-an-email"}, "email"),
        ({"kind": "organization", "uscc": "91350100M000100Y44"}, "uscc"),  # bad check digit
        ({"mobile": "13800138000", "uscc": VALID_USCC}, "uscc"),  # a person has none
        ({}, "mobile"),  # no identity at all
        ({"mobile": "13800138000", "display_name": ""}, "display_name"),
        ({"mobile": "13800138000", "business_unit": ""}, "business_unit"),
    ],
)
def test_create_names_the_field_and_the_reason(client, desk, unit_a, data, field):
    client.force_login(desk)
    form = {"kind": "person", "display_name": "林晓", "business_unit": unit_a.pk, **data}
    response = client.post(reverse("customer-create"), form)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Customer.objects.exists()


def test_a_unit_outside_ones_scope_is_not_a_choice(client, desk, unit_b):
    client.force_login(desk)
    response = client.post(
        reverse("customer-create"),
        {
            "kind": "person",
            "display_name": "林晓",
            "mobile": "13800138000",
            "business_unit": unit_b.pk,
        },
    )
    assert response.status_code == 400 and "business_unit" in response.context["form"].errors


def test_live_duplicate_warning_names_the_owner_masked(client, desk):
    owner = make("13800138000")  # known only by the phone: its name is the masked number
    org = services.resolve_customer(
        identities=[IdentityInput("uscc", VALID_USCC)],
        attributes={"display_name": "星辰贸易"},
        source="t",
    ).customer
    client.force_login(desk)
    url = reverse("customer-create-check")
    html = client.get(url, {"mobile": "138 0013 8000", "email": "", "uscc": ""}).content.decode()
    assert "duplicate-warning-item" in html and f"#{owner.pk}" in html
    assert "138****8000" in html and "13800138000" not in html
    html = client.get(url, {"mobile": "", "uscc": VALID_USCC.lower()}).content.decode()
    assert f"星辰贸易 (#{org.pk})" in html
    html = client.get(url, {"mobile": "13900000000"}).content.decode()
    assert "duplicate-warning-item" not in html


def test_saving_anyway_adds_the_details_to_the_existing_customer(client, desk, unit_a):
    owner = make("13800138000", "林晓")
    client.force_login(desk)
    response = client.post(
        reverse("customer-create"),
        {
            "kind": "person",
            "display_name": "林晓",
            "mobile": "13800138000",
            "email": "lx@example.com",
            "business_unit": unit_a.pk,
        },
    )
    assert response["Location"] == reverse("customer-detail", args=[owner.pk])
    assert Customer.objects.count() == 1
    assert owner.identities.filter(type="email").exists()


# --- Bulk tags on the selected rows ---------------------------------------------------------


def test_selected_rows_are_tagged_once_with_who_and_a_timeline_event(client, marketer, vip):
    a, b, c = make("13800000001", "甲"), make("13800000002", "乙"), make("13800000003", "丙")
    services.add_tag(customer=a, tag=vip, actor=marketer)  # already tagged: left alone
    client.force_login(marketer)
    html = client.get(reverse("customer-list")).content.decode()
    assert (
        "data-bulk-form" in html and "data-confirm-add-other" in html and "bulk-select-all" in html
    )
    response = client.post(
        reverse("customer-bulk-tag"),
        {
            "ids": [a.pk, b.pk, c.pk],
            "bulk_tag": vip.pk,
            "action": "add",
            "query": "kind=person&after=x",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customer-list") + "?kind=person"
    links = CustomerTag.objects.filter(tag=vip)
    assert set(links.values_list("customer_id", flat=True)) == {a.pk, b.pk, c.pk}
    assert set(links.exclude(customer=a).values_list("set_by", flat=True)) == {marketer.pk}
    events = TimelineEvent.objects.filter(type="tag.added")
    assert sorted(events.values_list("customer_id", flat=True)) == [a.pk, b.pk, c.pk]
    # again: idempotent
    client.post(
        reverse("customer-bulk-tag"), {"ids": [a.pk, b.pk], "bulk_tag": vip.pk, "action": "add"}
    )
    assert events.count() == 3 and links.count() == 3
    client.post(
        reverse("customer-bulk-tag"), {"ids": [a.pk, b.pk], "bulk_tag": vip.pk, "action": "remove"}
    )
    assert list(links.values_list("customer_id", flat=True)) == [c.pk]
    assert TimelineEvent.objects.filter(type="tag.removed").count() == 2


def test_tagging_is_set_based(vip, marketer, django_assert_num_queries):
    ids = [make(f"1380000{n:04d}").pk for n in range(50)]
    with django_assert_num_queries(4):  # savepoint, insert returning, events, release
        assert services.tag_customers(customer_ids=ids, tag=vip, actor=marketer) == 50


def test_a_merged_customer_is_never_tagged(vip, marketer, desk):
    a, b = make("13800000001", "甲"), make("13800000002", "甲")
    services.merge_customers(survivor=a, loser=b, actor=desk, reason="同一人")
    assert services.tag_customers(customer_ids=[a.pk, b.pk], tag=vip, actor=marketer) == 1


def test_bulk_tagging_needs_the_permission(client, unit_a, vip):
    a = make("13800000001", "甲")
    client.force_login(UserFactory(roles=[AUDITOR], units=[unit_a]))  # reads, tags nothing
    assert "data-bulk-form" not in client.get(reverse("customer-list")).content.decode()
    response = client.post(reverse("customer-bulk-tag"), {"ids": [a.pk], "bulk_tag": vip.pk})
    assert response.status_code == 403
    assert client.get(reverse("customer-bulk-tag-all")).status_code == 403
    assert not CustomerTag.objects.exists()


def test_nothing_selected_or_an_unknown_tag(client, marketer, vip):
    client.force_login(marketer)
    response = client.post(reverse("customer-bulk-tag"), {"bulk_tag": vip.pk}, follow=True)
    assert (
        "至少选择一位客户" in response.content.decode()
        or "Select at least one" in response.content.decode()
    )
    a = make("13800000001", "甲")
    assert (
        client.post(reverse("customer-bulk-tag"), {"ids": [a.pk], "bulk_tag": 999}).status_code
        == 404
    )


# --- Every customer matching the filter -----------------------------------------------------


def test_all_matching_shows_the_count_then_tags_them(client, marketer, vip):
    people = [make(f"1380000{n:04d}", f"客户{n}") for n in range(4)]
    services.resolve_customer(
        identities=[IdentityInput("uscc", VALID_USCC)],
        attributes={"display_name": "公司"},
        source="t",
    )
    client.force_login(marketer)
    url = reverse("customer-bulk-tag-all")
    page = client.get(url, {"kind": "person"})
    assert page.context["count"] == 4
    html = page.content.decode()
    assert 'name="expected" value="4"' in html and "data-confirm=" in html
    response = client.post(
        url, {"kind": "person", "bulk_tag": vip.pk, "action": "add", "expected": 4}
    )
    assert response.status_code == 302
    assert set(CustomerTag.objects.values_list("customer_id", flat=True)) == {p.pk for p in people}


def test_all_matching_refuses_when_the_count_changed(client, marketer, vip):
    make("13800000001", "甲")
    client.force_login(marketer)
    response = client.post(
        reverse("customer-bulk-tag-all"),
        {"kind": "person", "bulk_tag": vip.pk, "action": "add", "expected": 2},
    )
    assert response.status_code == 409
    assert 'data-testid="bulk-all-error"' in response.content.decode()
    assert not CustomerTag.objects.exists()


def test_many_matching_customers_are_tagged_by_a_job_with_progress(
    client, marketer, vip, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("crm.services.bulk_tags.BULK_TAG_SYNC_LIMIT", 3)
    monkeypatch.setattr("crm.services.bulk_tags.BULK_TAG_BATCH", 2)
    people = [make(f"1380000{n:04d}", f"客户{n}") for n in range(5)]
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("customer-bulk-tag-all"), {"bulk_tag": vip.pk, "action": "add", "expected": 5}
        )
    job = Job.objects.get(kind="crm.bulk_tag")
    assert response["Location"] == reverse("job-detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED and job.created_by == marketer
    assert job.result == {"matched": 5, "changed": 5, "tag": "价值: VIP"}
    assert CustomerTag.objects.filter(tag=vip).count() == len(people)


def test_the_live_check_counts_lookups_of_who_may_not_reveal(client, rep, settings):
    settings.IDENTITY_SEARCHES_PER_HOUR = 2  # a rep creates customers but may not reveal
    make("13800138000", "林晓")
    client.force_login(rep)
    url = reverse("customer-create-check")
    for _n in range(2):
        assert (
            "duplicate-warning-item" in client.get(url, {"mobile": "13800138000"}).content.decode()
        )
    html = client.get(url, {"mobile": "13800138000"}).content.decode()
    assert "duplicate-warning-item" not in html and "alert-warning" in html


def test_a_refused_form_still_shows_who_owns_the_phone(client, desk):
    owner = make("13800138000", "林晓")
    client.force_login(desk)
    response = client.post(
        reverse("customer-create"),
        {"kind": "person", "display_name": "林晓", "mobile": "13800138000"},
    )
    assert response.status_code == 400  # no business unit chosen
    assert f"林晓 (#{owner.pk})" in response.content.decode()
