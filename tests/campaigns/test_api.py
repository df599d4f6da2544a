"""The coupons API with a unit's partner key: list, validate, redeem (idempotent), reverse."""

from __future__ import annotations

import pytest

from campaigns import codes, services
from campaigns.models import CouponStatus
from tests.conftest import key_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def coupon(template, make_customer):
    return services.issue_coupon(template=template, customer=make_customer())


@pytest.fixture
def prop_pos(issue_key, unit_b):
    _key, raw = issue_key(unit_b, ["coupons:read", "coupons:write"], name="物业收银")
    return key_client(raw)


def post(client, path, body, key):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_list_validate_redeem_replay_and_reverse(prop_pos, coupon):
    listed = prop_pos.get("/api/v1/campaigns/coupons/", {"customer": coupon.customer_id})
    assert listed.status_code == 200, listed.content
    assert [c["code"] for c in listed.json()["results"]] == [coupon.code]

    checked = prop_pos.get(
        "/api/v1/campaigns/coupons/validate/",
        {"code": codes.display(coupon.code), "order_amount": "800"},
    )
    assert checked.status_code == 200, checked.content
    assert checked.json()["discount"] == "200.00"

    body = {"code": coupon.code, "reference": "PF-1", "order_amount": "800.00"}
    first = post(prop_pos, "/api/v1/campaigns/coupons/redeem/", body, "k1")
    assert first.status_code == 201, first.content
    assert first.json()["coupon"]["status"] == CouponStatus.REDEEMED
    same_key = post(prop_pos, "/api/v1/campaigns/coupons/redeem/", body, "k1")
    assert same_key.status_code == 201 and same_key["Idempotent-Replayed"] == "true"
    other_key = post(prop_pos, "/api/v1/campaigns/coupons/redeem/", body, "k2")
    assert other_key.status_code == 200 and other_key.json()["replayed"] is True
    again = post(prop_pos, "/api/v1/campaigns/coupons/redeem/", {**body, "reference": "PF-2"}, "k3")
    assert again.status_code == 409
    assert again.json()["code"] == "coupon_redeemed"
    assert "PF-1" in again.json()["detail"]

    back = post(
        prop_pos,
        "/api/v1/campaigns/coupons/reverse/",
        {"code": coupon.code, "reference": "RF-1"},
        "k4",
    )
    assert back.status_code == 201, back.content
    assert back.json()["restored"] is True
    assert back.json()["coupon"]["status"] == CouponStatus.ISSUED


def test_precise_refusals_over_http(prop_pos, issue_key, unit_a, coupon) -> None:
    typo = coupon.code[:-1] + ("2" if coupon.code[-1] != "2" else "3")
    response = prop_pos.get(
        "/api/v1/campaigns/coupons/validate/", {"code": typo, "order_amount": "800"}
    )
    assert (response.status_code, response.json()["code"]) == (400, "coupon_check_failed")
    below = prop_pos.get(
        "/api/v1/campaigns/coupons/validate/", {"code": coupon.code, "order_amount": "100"}
    )
    assert (below.status_code, below.json()["code"]) == (409, "below_minimum_spend")
    _key, raw = issue_key(unit_a, ["coupons:read", "coupons:write"], name="车行")
    dealer = key_client(raw)
    here = dealer.get(
        "/api/v1/campaigns/coupons/validate/", {"code": coupon.code, "order_amount": "800"}
    )
    assert (here.status_code, here.json()["code"]) == (409, "not_redeemable_here")
    unknown = prop_pos.get(
        "/api/v1/campaigns/coupons/validate/", {"code": codes.new_code(), "order_amount": "800"}
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "coupon_unknown")


def test_a_key_without_the_scope_or_of_another_unit_sees_nothing(
    issue_key, unit_a, coupon, make_template, make_customer
) -> None:
    _key, raw = issue_key(unit_a, ["members:read"], name="x")
    assert (
        key_client(raw)
        .get("/api/v1/campaigns/coupons/", {"customer": coupon.customer_id})
        .status_code
        == 403
    )
    from tests.factories import BusinessUnitFactory

    mart = BusinessUnitFactory(code="MART")
    _key, raw = issue_key(mart, ["coupons:read"], name="超市")
    listed = key_client(raw).get("/api/v1/campaigns/coupons/", {"customer": coupon.customer_id})
    assert listed.status_code == 200 and listed.json()["results"] == []


def test_the_customer_list_runs_a_constant_number_of_queries(
    prop_pos, template, make_customer, django_assert_num_queries
) -> None:
    customer = make_customer()
    services.issue_coupon(template=template, customer=customer)
    prop_pos.get("/api/v1/campaigns/coupons/", {"customer": customer.pk})  # the key cached
    with django_assert_num_queries(2):  # the same for one coupon and for four
        prop_pos.get("/api/v1/campaigns/coupons/", {"customer": customer.pk})
    from campaigns.models import CouponTemplate

    for _ in range(3):
        extra = CouponTemplate.objects.get(pk=template.pk)
        extra.pk = None
        extra.issued_count = 0
        extra.save()
        extra.redeemable_units.set(template.redeemable_units.all())
        services.set_funding(template=extra, shares=[(template.business_unit, 100)])
        services.issue_coupon(template=extra, customer=customer)
    with django_assert_num_queries(2):
        response = prop_pos.get("/api/v1/campaigns/coupons/", {"customer": customer.pk})
    assert len(response.json()["results"]) == 4
