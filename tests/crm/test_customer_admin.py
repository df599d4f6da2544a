"""The customer master's admin: every page loads, search is the web list's, history is
read-only, a pair can be queued for review (after a confirmation)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from crm import services
from crm.models import DuplicateCandidate
from crm.services import IdentityInput, TransactionInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(unit_a, admin_user):
    ids = [IdentityInput("mobile", "13800138000"), IdentityInput("email", "wang@example.com")]
    services.ingest_transactions(
        business_unit=unit_a,
        source="pos",
        rows=[
            TransactionInput(
                "T1",
                datetime(2026, 1, 1, tzinfo=UTC),
                "9.90",
                "store",
                identities=ids,
                customer_attributes={"display_name": "王伟"},
            )
        ],
    )
    customer = services.resolve_customer(identities=ids[:1], source="x").customer
    services.record_consent(
        customer=customer, channel="sms", purpose="marketing", granted=True, source="pos"
    )
    other = services.resolve_customer(
        identities=[IdentityInput("mobile", "13900139000")],
        attributes={"display_name": "王伟"},
        source="x",
    ).customer
    return customer, other


@pytest.mark.parametrize(
    "model",
    [
        "customer",
        "identity",
        "transaction",
        "timelineevent",
        "consent",
        "tag",
        "tagcategory",
        "duplicatecandidate",
        "merge",
        "piiaccess",
    ],
)
def test_every_changelist_loads(admin_client, data, model) -> None:
    response = admin_client.get(reverse(f"admin:crm_{model}_changelist"))
    assert response.status_code == 200


def test_customer_admin_searches_like_the_web_list(
    admin_client, data, django_assert_max_num_queries
) -> None:
    customer, _other = data
    url = reverse("admin:crm_customer_changelist")
    with django_assert_max_num_queries(12):
        response = admin_client.get(url, {"q": "8000"})
    assert list(response.context["cl"].result_list) == [customer]
    assert (
        admin_client.get(reverse("admin:crm_customer_change", args=[customer.pk])).status_code
        == 200
    )


def test_history_cannot_be_edited_in_the_admin(admin_client, data) -> None:
    assert admin_client.get(reverse("admin:crm_transaction_add")).status_code == 403
    assert admin_client.get(reverse("admin:crm_consent_add")).status_code == 403
    customer, _other = data
    assert (
        admin_client.get(reverse("admin:crm_customer_delete", args=[customer.pk])).status_code
        == 403
    )


def test_queue_two_customers_for_review_after_confirmation(admin_client, data) -> None:
    customer, other = data
    url = reverse("admin:crm_customer_changelist")
    form = {"action": "queue_for_review", "_selected_action": [customer.pk, other.pk]}
    confirm = admin_client.post(url, form)
    assert confirm.status_code == 200 and not DuplicateCandidate.objects.exists()
    done = admin_client.post(url, {**form, "confirmed": "yes"})
    candidate = DuplicateCandidate.objects.get()
    assert done.url == reverse("duplicate-review", args=[candidate.pk])
    assert candidate.reason == "manual"
