"""Sales reps and managers put tags on the customers they see from the 360 view and take them
off; the tags themselves (definitions, categories) stay marketing's."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from crm import services
from crm.models import Customer, CustomerTag, Tag, TagCategory, TimelineEvent
from crm.roles import SALES_MANAGER, SALES_REP
from crm.services import IdentityInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def customer(phone: str) -> Customer:
    return services.resolve_customer(
        identities=[IdentityInput("mobile", phone)], source="web"
    ).customer


@pytest.mark.parametrize("role", [SALES_REP, SALES_MANAGER])
def test_reps_and_managers_tag_links_but_not_tag_definitions(role) -> None:
    perms = set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))
    assert {"add_customertag", "delete_customertag"} <= perms
    assert not perms & {
        f"{verb}_{model}"
        for verb in ("add", "change", "delete")
        for model in ("tag", "tagcategory")
    }


def test_a_rep_tags_a_customer_from_the_360_view_and_not_outside_their_scope(
    client, unit_a
) -> None:
    tag = Tag.objects.create(category=TagCategory.objects.create(name="价值"), name="VIP")
    seen = customer("13800138000")
    client.force_login(UserFactory(roles=[SALES_REP], units=[unit_a]))

    page = client.get(reverse("customer-detail", args=[seen.pk]))
    assert page.context["can_tag"]
    assert reverse("customer-tag", args=[seen.pk]) in page.content.decode()

    url = reverse("customer-tag", args=[seen.pk])
    assert client.post(url, {"tag": tag.pk}).status_code == 302
    assert CustomerTag.objects.filter(customer=seen, tag=tag).exists()
    assert TimelineEvent.objects.filter(customer=seen, type="tag.added").exists()
    assert client.post(url, {"tag": tag.pk, "action": "remove"}).status_code == 302
    assert not CustomerTag.objects.filter(customer=seen, tag=tag).exists()

    # Outside the scope: a customer merged into another is no one to tag (the policy answers
    # 404), and the tag's definition is not the rep's to change.
    gone = customer("13900139000")
    services.merge_customers(survivor=seen, loser=gone, actor=None, reason="同一人")
    response = client.post(reverse("customer-tag", args=[gone.pk]), {"tag": tag.pk})
    assert response.status_code == 404
    assert not CustomerTag.objects.filter(tag=tag).exists()
    assert client.get(reverse("admin:crm_tag_add")).status_code != 200
