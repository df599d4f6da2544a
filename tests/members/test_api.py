"""The members API with BU-scoped partner keys: lookup, enrol, balance and level, earn,
redeem, reverse, entries; replays apply once; error codes as problem+json; scoping; query
counts constant in the ledger's size."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from crm.services import propose_blacklisting
from members import services
from members.api.qr import signed_qr_value
from tests.conftest import key_client

pytestmark = pytest.mark.django_db
BASE = "/api/v1/members"
ALL = ["members:read", "members:write"]


def post(client, path, body, key=None):
    return client.post(
        f"{BASE}/{path}",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
    )


@pytest.fixture
def pos_a(issue_key, unit_a):
    return key_client(issue_key(unit_a, ALL)[1])


@pytest.fixture
def pos_b(issue_key, unit_b):
    return key_client(issue_key(unit_b, ALL)[1])


def test_lookup_by_phone_number_and_qr(pos_a, make_member):
    member = make_member(phone="+8613800001000")
    for params in (
        {"phone": "138 0000 1000"},
        {"number": member.number},
        {"qr": member.qr_value},
        {"qr": signed_qr_value(member.number)},
    ):
        response = pos_a.get(f"{BASE}/lookup/", params)
        assert response.status_code == 200, (params, response.content)
        assert response.json()["number"] == member.number
        assert response.json()["balance"] == member.points_balance


def test_lookup_unknown_is_not_a_member(pos_a, rules):
    response = pos_a.get(f"{BASE}/lookup/", {"phone": "13899990000"})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_a_member"


def test_enrol_then_enrol_again_returns_the_same_member(pos_a, rules):
    body = {"phone": "13800002000", "name": "周杰", "channel": "store"}
    first = post(pos_a, "enrol/", body)
    assert first.status_code == 201, first.content
    second = post(pos_a, "enrol/", body)
    assert second.status_code == 200
    assert first.json()["number"] == second.json()["number"]


def test_enrolling_a_blacklisted_customer_is_refused(pos_a, make_member, admin_user, unit_a):
    from crm.roles import DATA_STEWARD
    from crm.services import IdentityInput, approve_blacklisting, resolve_customer
    from tests.factories import UserFactory

    customer = resolve_customer(
        identities=[IdentityInput("mobile", "13800003000")], source="test", business_unit=unit_a
    ).customer
    entry = propose_blacklisting(customer=customer, user=admin_user, reason="fraud", evidence="x")
    approve_blacklisting(entry=entry, user=UserFactory(roles=[DATA_STEWARD], units=[unit_a]))
    response = post(pos_a, "enrol/", {"phone": "13800003000", "channel": "store"})
    assert response.status_code == 409
    assert response.json()["code"] == "customer_blacklisted"


def test_earn_replayed_with_the_same_reference_applies_once(pos_a, make_member):
    member = make_member()
    start = member.points_balance
    first = post(pos_a, f"{member.number}/earn/", {"reference": "SO-1", "amount": "100.00"})
    assert first.status_code == 201, first.content
    # another Idempotency-Key, the same reference: the ledger's replay
    again = post(pos_a, f"{member.number}/earn/", {"reference": "SO-1", "amount": "100.00"})
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["entries"] == first.json()["entries"]
    member.refresh_from_db()
    assert member.points_balance == start + first.json()["points"]
    # the same Idempotency-Key and body: the stored response
    key = str(uuid.uuid4())
    one = post(pos_a, f"{member.number}/redeem/", {"reference": "R-1", "points": 10}, key)
    two = post(pos_a, f"{member.number}/redeem/", {"reference": "R-1", "points": 10}, key)
    assert one.status_code == two.status_code == 201
    assert two["Idempotent-Replayed"] == "true"
    member.refresh_from_db()
    assert member.points_balance == start + first.json()["points"] - 10


def test_a_reference_reused_for_another_amount_is_refused(pos_a, make_member):
    member = make_member()
    post(pos_a, f"{member.number}/earn/", {"reference": "SO-2", "amount": "100.00"})
    response = post(pos_a, f"{member.number}/earn/", {"reference": "SO-2", "amount": "90.00"})
    assert response.status_code == 409 and response.json()["code"] == "reference_reused"


def test_insufficient_points_and_frozen(pos_a, make_member, desk):
    member = make_member()
    response = post(pos_a, f"{member.number}/redeem/", {"reference": "R-2", "points": 10**6})
    assert response.status_code == 409 and response.json()["code"] == "insufficient_points"
    services.freeze_member(member=member, user=desk, reason="lost card")
    response = post(pos_a, f"{member.number}/earn/", {"reference": "SO-3", "amount": "10"})
    assert response.status_code == 409 and response.json()["code"] == "member_frozen"


def test_reverse_an_order(pos_a, make_member):
    member = make_member()
    earned = post(pos_a, f"{member.number}/earn/", {"reference": "SO-4", "amount": "200"})
    back = post(pos_a, f"{member.number}/reverse/", {"order_reference": "SO-4"})
    assert back.status_code == 201, back.content
    assert (
        back.json()["points"] == -earned.json()["entries"][0]["points"] or back.json()["points"] < 0
    )
    again = post(pos_a, f"{member.number}/reverse/", {"order_reference": "SO-4"})
    assert again.status_code == 200 and again.json()["replayed"] is True


def test_a_unit_b_key_cannot_read_or_earn_for_a_unit_a_member(pos_b, make_member):
    member = make_member(phone="+8613800004000")
    assert pos_b.get(f"{BASE}/lookup/", {"phone": "13800004000"}).status_code == 404
    assert pos_b.get(f"{BASE}/{member.number}/").status_code == 404
    assert pos_b.get(f"{BASE}/lookup/", {"qr": member.qr_value}).status_code == 404
    response = post(pos_b, f"{member.number}/earn/", {"reference": "B-1", "amount": "10"})
    assert response.status_code == 404 and response.json()["code"] == "not_a_member"


def test_a_signed_qr_shown_at_unit_b_lets_it_earn_and_redeem(pos_b, make_member, unit_b):
    member = make_member()
    qr = signed_qr_value(member.number)
    response = post(pos_b, f"{qr}/earn/", {"reference": "B-2", "amount": "50"})
    assert response.status_code == 201, response.content
    assert response.json()["entries"][0]["business_unit"] == unit_b.code


def test_an_expired_signed_qr_finds_nobody(pos_b, make_member):
    import time_machine

    member = make_member()
    with time_machine.travel(timezone.now() - timezone.timedelta(minutes=10)):
        qr = signed_qr_value(member.number)
    response = pos_b.get(f"{BASE}/{qr}/")
    assert response.status_code == 404 and response.json()["code"] == "not_a_member"


def test_entries_list_shows_only_the_keys_unit(pos_a, make_member, unit_b):
    member = make_member()
    services.earn_points(member=member, business_unit=unit_b, reference="PB-1", amount=10)
    post(pos_a, f"{member.number}/earn/", {"reference": "SO-5", "amount": "10"})
    rows = pos_a.get(f"{BASE}/{member.number}/entries/").json()["results"]
    assert rows and {r["business_unit"] for r in rows} == {"AUTO"}


def test_scopes_are_required(issue_key, unit_a, make_member):
    member = make_member()
    reader = key_client(issue_key(unit_a, ["members:read"])[1])
    assert reader.get(f"{BASE}/{member.number}/").status_code == 200
    response = post(reader, f"{member.number}/earn/", {"reference": "S-1", "amount": "1"})
    assert response.status_code == 403


@pytest.mark.parametrize(("path", "queries"), [("", 5), ("entries/", 3)])
def test_reads_take_constant_queries(
    pos_a, make_member, unit_a, path, queries, django_assert_num_queries
):
    member = make_member()
    services.earn_points(member=member, business_unit=unit_a, reference="Q-0", amount=10)
    url = f"{BASE}/{member.number}/{path}"
    pos_a.get(url)
    with django_assert_num_queries(queries) as few:
        assert pos_a.get(url).status_code == 200
    for i in range(1, 30):
        services.earn_points(member=member, business_unit=unit_a, reference=f"Q-{i}", amount=10)
    with django_assert_num_queries(len(few.captured_queries)):
        pos_a.get(url)


def test_earn_takes_constant_queries(pos_a, make_member, unit_a, django_assert_num_queries):
    member = make_member()
    post(pos_a, f"{member.number}/earn/", {"reference": "C-0", "amount": "10"})
    # the service's two statements (members.services.hotpath) inside the API's transaction,
    # without a savepoint (a refusal leaves the service's block as a value); the key and its
    # throttle count in one statement; the idempotency lock with the stored answer in one
    with django_assert_num_queries(8) as few:
        post(pos_a, f"{member.number}/earn/", {"reference": "C-1", "amount": "10"})
    for i in range(2, 30):
        services.earn_points(member=member, business_unit=unit_a, reference=f"C-{i}", amount=10)
    with django_assert_num_queries(len(few.captured_queries)):
        post(pos_a, f"{member.number}/earn/", {"reference": "C-99", "amount": "10"})


def test_redeem_takes_constant_queries(pos_a, make_member, unit_a, django_assert_num_queries):
    member = make_member()
    for i in range(30):
        services.earn_points(member=member, business_unit=unit_a, reference=f"L-{i}", amount=10)
    post(pos_a, f"{member.number}/redeem/", {"reference": "D-0", "points": 5})
    # the service's two statements (members.services.hotpath) inside the API's transaction,
    # without a savepoint (a refusal leaves the service's block as a value); the key and its
    # throttle count in one statement; the idempotency lock with the stored answer in one
    with django_assert_num_queries(8) as few:
        post(pos_a, f"{member.number}/redeem/", {"reference": "D-1", "points": 25})
    with django_assert_num_queries(len(few.captured_queries)):
        post(pos_a, f"{member.number}/redeem/", {"reference": "D-2", "points": 35})
