"""A record an app writes carries the app's label as its source (``accounts``, ``members``):
screens name it by the app's name in the reader's language, never by the code."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from crm import selectors, services
from crm.roles import MEMBER_SERVICE
from crm.selectors.sources import readable_identity
from crm.services import IdentityInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_apps_label_is_named_by_the_app_in_each_language() -> None:
    with translation.override("zh-hans"):
        assert selectors.source_label("accounts") == "B2B 客户"
        assert selectors.source_label("accounts", language="en") == "B2B accounts"
    with translation.override("en"):
        assert selectors.source_label("members") == "B2C members"
    # a library's app is no source system; an unknown code stays as it is
    assert selectors.source_label("axes") == "axes"
    assert selectors.source_label("kiosk_2027") == "kiosk_2027"
    with translation.override("zh-hans"):
        assert readable_identity("accounts:****47") == "B2B 客户 ****47"


def test_the_timeline_names_the_app_that_created_the_customer(client, unit_a) -> None:
    customer = services.resolve_customer(
        identities=[IdentityInput("mobile", "13800138000")],
        source="accounts",
        business_unit=unit_a,
    ).customer
    client.force_login(UserFactory(roles=[MEMBER_SERVICE], units=[unit_a]))
    url = reverse("customer-detail", args=[customer.pk])

    texts = [getattr(e, "text", "") for e in client.get(url).context["events"].object_list]
    assert "由 B2B 客户 创建客户" in texts
    html = client.get(url).content.decode()
    assert "由 accounts" not in html

    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    texts = [getattr(e, "text", "") for e in english.context["events"].object_list]
    assert "Customer created from B2B accounts" in texts
