"""The coupon desk: a check in large type (the discount or the precise reason), redeem with
the order's reference; the customer's coupons on the 360 view. Query counts pinned."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.models import CouponStatus
from crm.roles import MEMBER_SERVICE
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cashier(unit_b):
    return UserFactory(username="cashier", roles=[MEMBER_SERVICE], units=[unit_b])


@pytest.fixture
def coupon(template, make_customer):
    return services.issue_coupon(template=template, customer=make_customer())


def test_check_then_redeem_at_the_desk(client, cashier, coupon, django_assert_num_queries):
    client.force_login(cashier)
    url = reverse("campaigns:desk")
    assert client.get(url).status_code == 200
    client.get(url, {"code": coupon.code, "amount": "800"})  # warm the session's caches
    with django_assert_num_queries(4):
        page = client.get(url, {"code": coupon.code.lower(), "amount": "800"})
    html = page.content.decode()
    assert 'data-testid="coupon-redeem-form"' in html and "200" in html
    done = client.post(
        reverse("campaigns:redeem"),
        {
            "code": coupon.code,
            "amount": "800",
            "unit": cashier.business_units.get().pk,
            "reference": "PF-77",
        },
        follow=True,
    )
    assert done.status_code == 200
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED and coupon.redemption_reference == "PF-77"
    again = client.get(url, {"code": coupon.code, "amount": "800"}, HTTP_HX_REQUEST="true")
    reason = again.content.decode()
    assert 'data-code="coupon_redeemed"' in reason and "PF-77" in reason


def test_a_typo_shows_its_reason(client, cashier, coupon) -> None:
    client.force_login(cashier)
    typo = coupon.code[:5] + ("Z" if coupon.code[5] != "Z" else "Y") + coupon.code[6:]
    page = client.get(reverse("campaigns:desk"), {"code": typo, "amount": "800"})
    assert 'data-code="coupon_check_failed"' in page.content.decode()


def test_the_desk_needs_the_permission(client, rep_a) -> None:
    client.force_login(rep_a)
    assert client.get(reverse("campaigns:desk")).status_code == 403


def test_the_360_panel_lists_the_customers_coupons(
    client, cashier, template, make_template, make_customer, django_assert_num_queries
) -> None:
    from campaigns.web.desk import panel_context

    customer = make_customer()
    services.issue_coupon(template=template, customer=customer)
    panel_context(cashier, customer)  # the user's units, then kept on the user
    with django_assert_num_queries(1):
        one = panel_context(cashier, customer)
    assert len(one["coupons"]) == 1
    other = make_template(name="另一张券")
    services.issue_coupon(template=other, customer=customer)
    with django_assert_num_queries(1):
        two = panel_context(cashier, customer)
    assert len(two["coupons"]) == 2
    client.force_login(cashier)
    page = client.get(reverse("customer-detail", args=[customer.pk]))
    assert 'data-testid="coupons-panel"' in page.content.decode()
