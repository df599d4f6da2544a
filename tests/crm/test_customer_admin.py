"""The customer master's admin: every page loads, search is the web list's, history is
read-only, a pair can be queued for review (after a confirmation)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import services
from crm.models import DuplicateCandidate, PiiAccess, TimelineEvent
from crm.roles import AUDITOR
from crm.services import IdentityInput, TransactionInput
from tests.factories import UserFactory

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


def test_identity_values_are_masked_in_the_admin_for_everybody(client, admin_client, data, unit_a):
    """Nobody sees a full phone or e-mail in the admin: revealing is the 360 view's (audited)."""
    customer, _other = data
    phone = customer.identities.get(type="mobile")
    auditor = UserFactory(roles=[AUDITOR], units=[unit_a], is_staff=True)
    client.force_login(auditor)
    for staff in (client, admin_client):
        page = staff.get(reverse("admin:crm_identity_change", args=[phone.pk]))
        assert page.status_code == 200
        html = page.content.decode()
        assert "+8613800138000" not in html and "138****8000" in html
        assert reverse("customer-detail", args=[customer.pk]) in html
        listing = staff.get(reverse("admin:crm_identity_changelist")).content.decode()
        assert "+8613800138000" not in listing and "wang@example.com" not in listing
        inline = staff.get(reverse("admin:crm_customer_change", args=[customer.pk]))
        assert inline.status_code == 200
        html = inline.content.decode()
        assert "+8613800138000" not in html and "wang@example.com" not in html
        assert "138****8000" in html and "w***@example.com" in html
    assert not PiiAccess.objects.exists()


def search_sql(client, url, term):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"q": term})
    assert response.status_code == 200
    return response, "\n".join(q["sql"] for q in queries.captured_queries)


def test_identity_search_is_an_exact_lookup_of_the_normalized_value(
    admin_client, data, django_assert_max_num_queries
) -> None:
    customer, _other = data
    url = reverse("admin:crm_identity_changelist")
    with django_assert_max_num_queries(12):
        response, sql = search_sql(admin_client, url, " 138 0013 8000 ")
    assert [i.customer_id for i in response.context["cl"].result_list] == [customer.pk]
    assert "UPPER(" not in sql
    response, sql = search_sql(admin_client, url, "Wang@Example.com")
    assert [i.type for i in response.context["cl"].result_list] == ["email"]
    assert "UPPER(" not in sql
    response, _sql = search_sql(admin_client, url, "no such thing")
    assert list(response.context["cl"].result_list) == []


def test_transaction_search_is_exact_and_the_filters_never_scan_the_table(
    admin_client, data, django_assert_max_num_queries
) -> None:
    url = reverse("admin:crm_transaction_changelist")
    with django_assert_max_num_queries(12):
        response, sql = search_sql(admin_client, url, " T1 ")
    assert [t.external_id for t in response.context["cl"].result_list] == ["T1"]
    assert "UPPER(" not in sql
    assert "DISTINCT" not in sql and "DATE_TRUNC" not in sql.upper()
    response, _sql = search_sql(admin_client, url, "t1")  # order ids are case-sensitive
    assert list(response.context["cl"].result_list) == []
    assert "GBP" in response.content.decode()  # the currency filter's fixed choices
    cny = admin_client.get(url, {"currency": "CNY"}).context["cl"].result_list
    gbp = admin_client.get(url, {"currency": "GBP"}).context["cl"].result_list
    assert [t.external_id for t in cny] == ["T1"] and list(gbp) == []


def test_timeline_type_filter_lists_the_registered_types_without_a_scan(admin_client, data):
    url = reverse("admin:crm_timelineevent_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url)
    assert response.status_code == 200
    assert not any("DISTINCT" in q["sql"] for q in queries.captured_queries)
    html = response.content.decode()
    assert "?type=consent.withdrawn" in html  # registered, though no such event exists yet
    granted = admin_client.get(url, {"type": "consent.granted"}).context["cl"].result_list
    assert {e.type for e in granted} == {"consent.granted"}
    assert len(granted) == TimelineEvent.objects.filter(type="consent.granted").count() == 1


def test_wechat_and_external_ids_are_masked_in_the_admin_too(admin_client) -> None:
    """Every personal identity type, not only phones and e-mails: lists, change pages,
    the customer's inline and the duplicate pair; the company's USCC stays readable."""
    from crm.normalizers import mask_identity, uscc_check_char

    values = {
        "wechat_unionid": "oUnion7Hq2Lx9Wm4Rt6Yp",
        "wechat_openid": "oOpen3Kd8Vz1Nc5Bf0Gs",
        "external": "erp:C-20481024",
    }
    customer = services.resolve_customer(
        identities=[IdentityInput(t, v) for t, v in values.items()], source="x"
    ).customer
    uscc = "91310000MA1FL0123"
    uscc += uscc_check_char(uscc)
    company = services.resolve_customer(identities=[IdentityInput("uscc", uscc)], source="x")
    candidate = services.record_duplicate_candidate(
        first=customer, second=company.customer, reason="manual", detail="admin"
    )
    pages = [
        reverse("admin:crm_identity_changelist"),
        reverse("admin:crm_customer_changelist"),
        reverse("admin:crm_customer_change", args=[customer.pk]),
        reverse("admin:crm_duplicatecandidate_changelist"),
        reverse("admin:crm_duplicatecandidate_change", args=[candidate.pk]),
        *(reverse("admin:crm_identity_change", args=[i.pk]) for i in customer.identities.all()),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for value in values.values():
            assert value not in html and value.split(":")[-1] not in html, url
    listing = admin_client.get(reverse("admin:crm_identity_changelist")).content.decode()
    for type_, value in values.items():
        assert mask_identity(type_, value) in listing
    assert uscc in listing
    assert not PiiAccess.objects.exists()


def test_the_identity_list_refuses_filters_on_the_value_from_the_address_bar(
    admin_client, data
) -> None:
    """``?value__startswith=`` would let anybody spell out a masked number digit by digit."""
    url = reverse("admin:crm_identity_changelist")
    for lookup in ("value__startswith", "value__contains", "value", "value__regex"):
        assert admin_client.get(url, {lookup: "+86138"}).status_code == 400, lookup
    assert admin_client.get(url, {"type__exact": "mobile"}).status_code == 200
    customers = reverse("admin:crm_customer_changelist")
    assert admin_client.get(customers, {"identities__value__startswith": "+86"}).status_code == 400
