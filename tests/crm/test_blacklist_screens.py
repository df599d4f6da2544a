"""The blacklist's screens: the queue (pinned queries, evidence, history), approving and
rejecting through the web UI and the admin (four eyes there too), proposing from the 360
view, the red banner on the 360 view and the mark in the customer list; permissions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm import services
from crm.models import BlacklistEntry, BlacklistStatus, Customer
from crm.roles import AUDITOR, DATA_STEWARD, SALES_MANAGER, SALES_REP
from crm.services import IdentityInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EVIDENCE = "法院判决 (2026) 闽01民初123号"


def org(n: int = 0) -> Customer:
    return services.resolve_customer(
        identities=[IdentityInput("external", f"erp:{n}")],
        attributes={"display_name": f"星辰贸易{n}有限公司", "kind": "organization"},
        source="erp",
    ).customer


@pytest.fixture
def manager(unit_a):
    return UserFactory(username="manager", roles=[SALES_MANAGER], units=[unit_a])


@pytest.fixture
def steward(unit_a):
    return UserFactory(username="steward", roles=[DATA_STEWARD], units=[unit_a], is_staff=True)


def propose(customer, user):
    return services.propose_blacklisting(
        customer=customer, user=user, reason="fraud", evidence=EVIDENCE, scope_note="全集团"
    )


def htmx_post(client, url, data):
    return client.post(url, data, HTTP_HX_REQUEST="true")


def test_the_queue_shows_proposals_with_evidence_in_constant_queries(
    client, manager, steward, django_assert_num_queries
) -> None:
    for n in range(2):
        propose(org(n), manager)
    client.force_login(steward)
    url = reverse("blacklist-queue")
    client.get(url)
    # session, user, permissions (2), the roles, the count, the page of entries (joined)
    # 5 (was 7): permissions and roles in one query
    with django_assert_num_queries(4) as few:
        response = client.get(url)
    html = response.content.decode()
    assert html.count('data-testid="blacklist-entry"') == 2
    assert EVIDENCE in html and 'data-testid="blacklist-approve"' in html
    for n in range(2, 12):
        propose(org(n), manager)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('data-testid="blacklist-entry"') == 12
    # Oldest first.
    names = [e.customer.display_name for e in response.context["page"].object_list]
    assert names[0] == "星辰贸易0有限公司"


def test_the_history_lists_decided_entries_and_filters_by_status(client, manager, steward) -> None:
    services.approve_blacklisting(entry=propose(org(1), manager), user=steward)
    services.reject_blacklisting(entry=propose(org(2), manager), user=steward, comment="证据不足")
    client.force_login(steward)
    html = client.get(reverse("blacklist-queue"), {"tab": "history"}).content.decode()
    assert "星辰贸易1有限公司" in html and "星辰贸易2有限公司" in html and "证据不足" in html
    html = client.get(
        reverse("blacklist-queue"), {"tab": "history", "status": "rejected", "sort": "proposed"}
    ).content.decode()
    assert "星辰贸易2有限公司" in html and "星辰贸易1有限公司" not in html
    empty = client.get(reverse("blacklist-queue")).content.decode()
    assert 'data-testid="blacklist-entry"' not in empty and "empty" in empty


def test_approve_through_the_web_ui(client, manager, steward) -> None:
    customer = org()
    entry = propose(customer, manager)
    client.force_login(steward)
    response = htmx_post(
        client, reverse("blacklist-decide", args=[entry.pk]), {"action": "approve"}
    )
    assert response.status_code == 200
    assert 'data-testid="blacklist-done"' in response.content.decode()
    entry.refresh_from_db()
    assert entry.status == BlacklistStatus.ACTIVE and entry.decided_by == steward


def test_reject_through_the_web_ui_needs_a_comment(client, manager, steward) -> None:
    entry = propose(org(), manager)
    client.force_login(steward)
    url = reverse("blacklist-decide", args=[entry.pk])
    response = htmx_post(client, url, {"action": "reject", "comment": ""})
    assert response.status_code == 409
    assert 'data-testid="blacklist-error"' in response.content.decode()
    assert BlacklistEntry.objects.get(pk=entry.pk).status == BlacklistStatus.PROPOSED
    response = client.post(url, {"action": "reject", "comment": "证据不足"})
    assert response.status_code == 302
    assert BlacklistEntry.objects.get(pk=entry.pk).status == BlacklistStatus.REJECTED


def test_the_proposer_cannot_approve_through_the_web_ui(client, steward) -> None:
    entry = propose(org(), steward)
    client.force_login(steward)
    response = htmx_post(
        client, reverse("blacklist-decide", args=[entry.pk]), {"action": "approve"}
    )
    assert response.status_code == 403
    assert "Four eyes" in response.content.decode() or "四眼" in response.content.decode()
    entry.refresh_from_db()
    assert entry.status == BlacklistStatus.PROPOSED and entry.decided_by is None


def test_the_proposer_cannot_approve_in_the_admin(client, steward) -> None:
    entry = propose(org(), steward)
    client.force_login(steward)
    url = reverse("admin:crm_blacklistentry_changelist")
    data = {"action": "approve_selected", "_selected_action": [entry.pk]}
    confirm = client.post(url, data)
    assert 'data-testid="confirm-question"' in confirm.content.decode()
    client.post(url, {**data, "confirmed": "yes"})
    entry.refresh_from_db()
    assert entry.status == BlacklistStatus.PROPOSED and entry.decided_by is None


def test_another_approver_approves_in_the_admin_after_confirming(client, manager, steward) -> None:
    entry = propose(org(), manager)
    client.force_login(steward)
    url = reverse("admin:crm_blacklistentry_changelist")
    assert client.get(url).status_code == 200
    assert (
        client.get(reverse("admin:crm_blacklistentry_change", args=[entry.pk])).status_code == 200
    )
    data = {"action": "approve_selected", "_selected_action": [entry.pk]}
    client.post(url, data)
    assert BlacklistEntry.objects.get(pk=entry.pk).status == BlacklistStatus.PROPOSED
    client.post(url, {**data, "confirmed": "yes"})
    assert BlacklistEntry.objects.get(pk=entry.pk).status == BlacklistStatus.ACTIVE


def test_permissions_on_the_screens(client, manager, rep_a) -> None:
    entry = propose(org(), manager)
    client.force_login(rep_a)
    assert client.get(reverse("blacklist-queue")).status_code == 403
    decide = reverse("blacklist-decide", args=[entry.pk])
    assert client.post(decide, {"action": "approve"}).status_code == 403
    assert client.get(reverse("blacklist-propose", args=[entry.customer_id])).status_code == 403
    client.force_login(manager)  # proposes, reads the queue, never decides
    assert client.get(reverse("blacklist-queue")).status_code == 200
    assert client.post(decide, {"action": "approve"}).status_code == 403
    assert client.get(reverse("blacklist-propose", args=[999999])).status_code == 404
    auditor = UserFactory(roles=[AUDITOR])
    client.force_login(auditor)
    html = client.get(reverse("blacklist-queue")).content.decode()
    assert EVIDENCE in html and 'data-testid="blacklist-approve"' not in html
    steward = UserFactory(roles=[DATA_STEWARD])
    client.force_login(steward)
    assert client.post(reverse("blacklist-decide", args=[999999])).status_code == 404
    assert BlacklistEntry.objects.get(pk=entry.pk).status == BlacklistStatus.PROPOSED


def test_propose_from_the_360_view(client, manager) -> None:
    customer = org()
    client.force_login(manager)
    detail = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    assert 'data-testid="blacklist-propose"' in detail
    url = reverse("blacklist-propose", args=[customer.pk])
    response = client.post(url, {"reason": "fraud", "evidence": ""})
    assert (
        response.status_code == 409 and 'data-testid="blacklist-error"' in response.content.decode()
    )
    assert not BlacklistEntry.objects.exists()
    response = client.post(url, {"reason": "fraud", "evidence": EVIDENCE, "scope_note": "全集团"})
    assert response.status_code == 302
    entry = BlacklistEntry.objects.get()
    assert entry.proposed_by == manager and entry.status == BlacklistStatus.PROPOSED
    detail = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    assert 'data-testid="blacklist-proposed"' in detail
    assert 'data-testid="blacklist-propose"' not in detail


def test_the_360_banner_shows_date_and_reason_and_evidence_only_to_approvers(
    client, manager, steward, rep_a
) -> None:
    customer = org()
    entry = services.approve_blacklisting(entry=propose(customer, manager), user=steward)
    url = reverse("customer-detail", args=[customer.pk])
    client.force_login(rep_a)
    html = client.get(url).content.decode()
    assert 'data-testid="blacklist-banner"' in html
    assert entry.decided_at.astimezone().strftime("%Y") in html
    assert str(entry.get_reason_display()) in html
    assert EVIDENCE not in html and 'data-testid="blacklist-evidence"' not in html
    client.force_login(steward)
    html = client.get(url).content.decode()
    assert 'data-testid="blacklist-banner"' in html and EVIDENCE in html


def test_propose_lifting_from_the_banner(client, manager, steward) -> None:
    customer = org()
    entry = services.approve_blacklisting(entry=propose(customer, manager), user=steward)
    client.force_login(manager)
    response = client.post(reverse("blacklist-lift", args=[entry.pk]), {"reason": "欠款已结清"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == BlacklistStatus.LIFTING and entry.lift_proposed_by == manager


def test_the_customer_list_marks_blacklisted_rows_in_the_same_queries(
    client, manager, steward, django_assert_num_queries
) -> None:
    rep = UserFactory(roles=[SALES_REP])
    first, second, third = org(1), org(2), org(3)
    client.force_login(rep)
    url = reverse("customer-list")
    client.get(url)
    with django_assert_num_queries(len(_queries(client, url))):
        html = client.get(url).content.decode()
    assert 'data-testid="blacklist-mark"' not in html
    before = len(_queries(client, url))
    services.approve_blacklisting(entry=propose(first, manager), user=steward)
    services.approve_blacklisting(entry=propose(second, manager), user=steward)
    propose(third, manager)  # only proposed: no mark
    with django_assert_num_queries(before):
        html = client.get(url).content.decode()
    assert html.count('data-testid="blacklist-mark"') == 2


def _queries(client, url) -> list:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return ctx.captured_queries


def test_the_approvers_home_card_lists_pending_proposals(client, manager, steward) -> None:
    propose(org(1), manager)
    client.force_login(steward)
    html = client.get(reverse("home")).content.decode()
    assert "星辰贸易1有限公司" in html and reverse("blacklist-queue") in html
    client.force_login(manager)
    keys = [c["card"].key for c in client.get(reverse("home")).context["cards"]]
    assert "blacklist-pending" not in keys
