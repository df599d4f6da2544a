"""At the desk: adjusting points (reason, permission, the approval threshold), enrolling
(new by phone, from a customer, already a member, blacklisted), freezing with a reason, the
adjustments queue (four eyes), the 360 panel and the home cards."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.roles import DATA_STEWARD, MARKETING, MEMBER_SERVICE
from crm.services import IdentityInput, approve_blacklisting, propose_blacklisting, resolve_customer
from members.models import AdjustmentProposal, AdjustmentStatus, Member, MemberStatus, PointsEntry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def adjust(client, member, unit, points, reason="goodwill"):
    return client.post(
        reverse("members:adjust", args=[member.pk]),
        {"points": points, "reason": reason, "business_unit": unit.pk},
        follow=True,
    )


def test_a_small_adjustment_applies_at_once(client, desk, make_member, unit_a):
    member = make_member()
    client.force_login(desk)
    response = adjust(client, member, unit_a, 100, "compensation for a late delivery")
    member.refresh_from_db()
    assert member.points_balance == 100
    entry = PointsEntry.objects.get(member=member, kind="adjust")
    assert entry.reason == "compensation for a late delivery" and entry.actor == desk
    assert 'data-testid="member-balance">100<' in response.content.decode()


def test_an_adjustment_needs_a_reason(client, desk, make_member, unit_a):
    member = make_member()
    client.force_login(desk)
    response = adjust(client, member, unit_a, 100, "")
    assert not PointsEntry.objects.filter(member=member, kind="adjust").exists()
    html = response.content.decode()
    assert "alert-danger" in html and ("Reason:" in html or "原因：" in html or "原因:" in html)


def test_a_large_adjustment_waits_for_a_second_approver(client, desk, make_member, unit_a):
    member = make_member()
    client.force_login(desk)
    response = adjust(client, member, unit_a, 5000)
    proposal = AdjustmentProposal.objects.get(member=member)
    assert proposal.status == AdjustmentStatus.PROPOSED
    member.refresh_from_db()
    assert member.points_balance == 0
    assert 'data-testid="pending-adjustments"' in response.content.decode()
    # the proposer cannot approve it; a steward can
    steward = UserFactory(roles=[DATA_STEWARD, MEMBER_SERVICE], units=[unit_a])
    client.force_login(steward)
    queue = client.get(reverse("members:adjustments"))
    assert 'data-testid="proposal-row"' in queue.content.decode()
    client.post(reverse("members:adjustment-decide", args=[proposal.pk]), {"decision": "approve"})
    member.refresh_from_db()
    assert member.points_balance == 5000


def test_the_proposer_cannot_approve_their_own(client, unit_a, make_member):
    both = UserFactory(roles=[DATA_STEWARD, MEMBER_SERVICE], units=[unit_a])
    member = make_member()
    client.force_login(both)
    adjust(client, member, unit_a, 5000)
    proposal = AdjustmentProposal.objects.get(member=member)
    response = client.post(
        reverse("members:adjustment-decide", args=[proposal.pk]),
        {"decision": "approve"},
        follow=True,
    )
    proposal.refresh_from_db()
    assert proposal.status == AdjustmentStatus.PROPOSED
    assert any("Four eyes" in m or "四眼" in m or "另一" in m for m in _messages(response))


def test_adjusting_needs_the_permission(client, unit_a, make_member):
    member = make_member()
    client.force_login(UserFactory(roles=[MARKETING], units=[unit_a]))
    page = client.get(reverse("members:member", args=[member.pk])).content.decode()
    assert 'data-testid="adjust-form"' not in page
    adjust(client, member, unit_a, 10)
    assert not PointsEntry.objects.filter(member=member, kind="adjust").exists()


def test_enrol_a_new_member_by_phone(client, desk, rules, unit_a):
    client.force_login(desk)
    response = client.post(
        reverse("members:enrol"),
        {"phone": "13800005000", "name": "陈静", "channel": "store", "business_unit": unit_a.pk},
    )
    member = Member.objects.get(customer__identities__value="+8613800005000")
    assert response.status_code == 302 and response.url == reverse(
        "members:member", args=[member.pk]
    )
    assert member.customer.display_name == "陈静"


def test_enrol_from_a_customer_and_again(client, desk, rules, unit_a):
    customer = resolve_customer(
        identities=[IdentityInput("mobile", "13800006000")], source="test", business_unit=unit_a
    ).customer
    client.force_login(desk)
    form = client.get(reverse("members:enrol"), {"customer": customer.pk}).content.decode()
    assert 'data-testid="enrol-customer"' in form
    body = {"customer": customer.pk, "channel": "app", "business_unit": unit_a.pk}
    client.post(reverse("members:enrol"), body)
    again = client.post(reverse("members:enrol"), body, follow=True)
    assert Member.objects.filter(customer=customer).count() == 1
    assert any(Member.objects.get(customer=customer).number in m for m in _messages(again))


def test_enrolling_a_blacklisted_customer_shows_the_refusal(
    client, desk, rules, unit_a, admin_user
):
    customer = resolve_customer(
        identities=[IdentityInput("mobile", "13800007000")], source="test", business_unit=unit_a
    ).customer
    entry = propose_blacklisting(customer=customer, user=admin_user, reason="fraud", evidence="x")
    approve_blacklisting(entry=entry, user=UserFactory(roles=[DATA_STEWARD], units=[unit_a]))
    client.force_login(desk)
    response = client.post(
        reverse("members:enrol"),
        {"phone": "13800007000", "channel": "store", "business_unit": unit_a.pk},
    )
    assert response.status_code == 200
    assert 'data-testid="form-errors"' in response.content.decode()
    assert not Member.objects.filter(customer=customer).exists()


def test_enrol_without_a_phone_says_what_is_missing(client, desk, rules, unit_a):
    client.force_login(desk)
    response = client.post(
        reverse("members:enrol"), {"channel": "store", "business_unit": unit_a.pk}
    )
    assert response.status_code == 200 and response.context["form"].errors["phone"]


def test_freeze_and_unfreeze_with_a_reason(client, desk, make_member):
    member = make_member()
    client.force_login(desk)
    page = client.get(reverse("members:member", args=[member.pk])).content.decode()
    assert "data-confirm=" in page  # asks before freezing
    url = reverse("members:status", args=[member.pk])
    client.post(url, {"action": "freeze", "reason": ""})
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE
    client.post(url, {"action": "freeze", "reason": "card lost"})
    member.refresh_from_db()
    assert member.status == MemberStatus.FROZEN and member.status_reason == "card lost"
    client.post(url, {"action": "unfreeze", "reason": "card found"})
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE


def test_freezing_needs_the_permission(client, unit_a, make_member):
    member = make_member()
    client.force_login(UserFactory(roles=[MARKETING], units=[unit_a]))
    url = reverse("members:status", args=[member.pk])
    assert client.post(url, {"action": "freeze", "reason": "x"}).status_code == 403


def test_the_360_view_has_the_member_panel(client, desk, make_member):
    member = make_member()
    client.force_login(desk)
    html = client.get(reverse("customer-detail", args=[member.customer_id])).content.decode()
    assert 'data-testid="member-panel"' in html and member.number in html


def test_the_360_panel_offers_enrolment_to_a_non_member(client, desk, unit_a):
    customer = resolve_customer(
        identities=[IdentityInput("mobile", "13800008000")], source="test", business_unit=unit_a
    ).customer
    client.force_login(desk)
    html = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    assert 'data-testid="panel-enrol"' in html


def test_home_cards(client, desk, make_member, unit_a):
    member = make_member()
    client.force_login(desk)
    assert member.number in client.get(reverse("home")).content.decode()
    adjust(client, member, unit_a, 5000)
    steward = UserFactory(roles=[DATA_STEWARD], units=[unit_a])
    client.force_login(steward)
    html = client.get(reverse("home")).content.decode()
    assert reverse("members:adjustments") in html and "+5000" in html
