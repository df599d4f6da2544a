"""The coupons' timeline entries are written in the reader's language from the event's data:
an English reader reads English, a Chinese reader Chinese (核销 for a redemption), whoever
wrote the event; events from before a detail was kept fall back to their stored summary."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from campaigns import services
from campaigns.models import CouponStatus
from crm.models import TimelineEvent
from crm.registry import event_type
from crm.roles import MEMBER_SERVICE
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _text(event: TimelineEvent, language: str) -> str:
    kind = event_type(event.type)
    assert kind.describe is not None
    with translation.override(language):
        return kind.describe(event, event.customer)


@pytest.fixture
def history(template, make_customer, unit_b):
    customer = make_customer()
    with translation.override("zh-hans"):  # written by a Chinese cashier
        coupon = services.issue_coupon(template=template, customer=customer)
        services.redeem_coupon(
            code=coupon.code, business_unit=unit_b, reference="POS-77", order_amount="800"
        )
        services.reverse_redemption(code=coupon.code, business_unit=unit_b, reference="RF-9")
        services.void_coupons(coupons=[coupon.pk], reason="客户投诉")
    return customer


def test_each_coupon_event_in_either_language(history) -> None:
    events = {e.type: e for e in TimelineEvent.objects.filter(customer=history)}
    issued, redeemed = events["coupon.issued"], events["coupon.redeemed"]
    reversed_, voided = events["coupon.reversed"], events["coupon.voided"]
    assert (
        _text(issued, "en") == "Coupon “物业费抵扣券 200 元” issued (At the desk), worth CN¥200.00"
    )
    assert _text(issued, "zh-hans") == "发放优惠券“物业费抵扣券 200 元”（柜台发放），面值 ¥200.00"
    assert (
        _text(redeemed, "en")
        == "Coupon “物业费抵扣券 200 元” redeemed: CN¥200.00 off, order POS-77"
    )
    assert (
        _text(redeemed, "zh-hans") == "核销优惠券“物业费抵扣券 200 元”：优惠 ¥200.00，订单 POS-77"
    )
    assert _text(reversed_, "en") == (
        "Redemption of coupon “物业费抵扣券 200 元” reversed (refund RF-9): the coupon is "
        "usable again"
    )
    assert "核销已冲正" in _text(reversed_, "zh-hans")
    assert _text(voided, "en") == "Coupon “物业费抵扣券 200 元” voided: 客户投诉"
    assert _text(voided, "zh-hans") == "优惠券“物业费抵扣券 200 元”已作废：客户投诉"


def test_events_without_the_details_show_their_summary(history) -> None:
    event = TimelineEvent.objects.get(customer=history, type="coupon.redeemed")
    event.data = {"coupon": 1}
    assert _text(event, "zh-hans") == event.summary
    voided = TimelineEvent.objects.get(customer=history, type="coupon.voided")
    voided.data = {"coupon": 1}
    assert _text(voided, "zh-hans") == "优惠券已作废"


def test_the_360_timeline_reads_in_the_readers_language(client, history, unit_a, unit_b) -> None:
    reader = UserFactory(roles=[MEMBER_SERVICE], units=[unit_a, unit_b], language="en")
    client.force_login(reader)
    page = client.get(reverse("customer-detail", args=[history.pk])).content.decode()
    assert "Coupon “物业费抵扣券 200 元” redeemed: CN¥200.00 off, order POS-77" in page
    reader.language = "zh-hans"
    reader.save(update_fields=["language"])
    page = client.get(reverse("customer-detail", args=[history.pk])).content.decode()
    assert "核销优惠券“物业费抵扣券 200 元”：优惠 ¥200.00，订单 POS-77" in page


def test_a_redeemed_coupon_says_hexiao(template, make_customer) -> None:
    with translation.override("zh-hans"):
        assert str(CouponStatus.REDEEMED.label) == "已核销"
        assert str(CouponStatus.ISSUED.label) == "已发放"
    with translation.override("en"):
        assert str(CouponStatus.REDEEMED.label) == "Redeemed"
