"""The campaigns demo (safe to run twice) and the admin pages: they open, funding shares must
add up to 100 %, coupons are voided in bulk after a confirmation."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from campaigns import services
from campaigns.models import (
    Campaign,
    Coupon,
    CouponStatus,
    CouponTemplate,
    TriggerRule,
)
from crm.demo import load_platform_demo
from crm.models import SettlementLine
from crm.services import IdentityInput, resolve_customer

pytestmark = pytest.mark.django_db

PAGES = [
    "campaign",
    "coupontemplate",
    "coupon",
    "triggerrule",
    "triggerfiring",
    "bulkissue",
    "couponreversal",
]


def test_campaigns_demo_is_idempotent() -> None:
    load_platform_demo()
    for n in range(12):
        resolve_customer(
            identities=[IdentityInput("mobile", f"+8613900{n:06d}")],
            attributes={"display_name": f"演示客户{n}"},
            source="demo",
        )
    call_command("load_campaigns_demo", verbosity=0)
    counts = (Coupon.objects.count(), SettlementLine.objects.count(), TriggerRule.objects.count())
    assert counts[0] == 12 and counts[1] > 0 and counts[2] == 1
    assert Coupon.objects.filter(status=CouponStatus.REDEEMED).exists()
    assert Campaign.objects.get().status == "active"
    call_command("load_campaigns_demo", verbosity=0)
    assert (
        Coupon.objects.count(),
        SettlementLine.objects.count(),
        TriggerRule.objects.count(),
    ) == counts
    assert CouponTemplate.objects.count() == 2


def test_admin_pages_open(client, admin_user, template, make_customer, unit_b) -> None:
    coupon = services.issue_coupon(template=template, customer=make_customer())
    services.redeem_coupon(
        code=coupon.code, business_unit=unit_b, reference="PF-1", order_amount="900"
    )
    client.force_login(admin_user)
    for model in PAGES:
        url = reverse(f"admin:campaigns_{model}_changelist")
        assert client.get(url).status_code == 200, model
    assert client.get(reverse("admin:campaigns_coupontemplate_add")).status_code == 200
    assert client.get(reverse("admin:campaigns_triggerrule_add")).status_code == 200
    found = client.get(reverse("admin:campaigns_coupon_changelist"), {"q": coupon.code.lower()})
    assert coupon.code in found.content.decode()


def test_funding_shares_must_add_up_in_the_admin(client, admin_user, unit_a, unit_b) -> None:
    client.force_login(admin_user)
    data = {
        "business_unit": unit_a.pk,
        "name": "测试券",
        "kind": "fixed",
        "value": "50",
        "minimum_spend": "0",
        "currency": "CNY",
        "valid_days": "30",
        "stock": "10",
        "per_customer_limit": "1",
        "reversal_window_days": "30",
        "redeemable_units": [unit_b.pk],
        "is_active": "on",
        "fundings-TOTAL_FORMS": "2",
        "fundings-INITIAL_FORMS": "0",
        "fundings-MIN_NUM_FORMS": "1",
        "fundings-MAX_NUM_FORMS": "1000",
        "fundings-0-business_unit": unit_a.pk,
        "fundings-0-share": "60",
        "fundings-1-business_unit": unit_b.pk,
        "fundings-1-share": "30",
    }
    url = reverse("admin:campaigns_coupontemplate_add")
    refused = client.post(url, data)
    assert refused.status_code == 200 and "100" in refused.content.decode()
    assert not CouponTemplate.objects.exists()
    client.post(url, {**data, "fundings-1-share": "40"})
    template = CouponTemplate.objects.get()
    assert sorted(template.fundings.values_list("share", flat=True)) == [40, 60]
    assert template.created_by == admin_user


def test_bulk_void_needs_a_confirmation(client, admin_user, template, make_customer) -> None:
    coupons = [services.issue_coupon(template=template, customer=make_customer()) for _ in range(2)]
    client.force_login(admin_user)
    url = reverse("admin:campaigns_coupon_changelist")
    data = {"action": "void_selected", "_selected_action": [c.pk for c in coupons]}
    assert client.post(url, data).status_code == 200  # the confirmation page
    assert not Coupon.objects.filter(status=CouponStatus.VOIDED).exists()
    client.post(url, {**data, "confirmed": "yes"})
    assert Coupon.objects.filter(status=CouponStatus.VOIDED).count() == 2
