"""Funnel and channel ROI against a hand computation (see the figures in each test)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from crm.models import Customer, Transaction
from leads.models import ChannelCost, Lead, LeadEvent
from leads.selectors import channel_roi, funnel

pytestmark = pytest.mark.django_db

MARCH = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
HOUR = timedelta(hours=1)


@pytest.fixture
def world(public_pool, rep_a, unit_a, unit_b, admin_user):
    def lead(n, **kw):
        kw.setdefault("created_at", MARCH)
        return Lead.objects.create(
            business_unit=unit_a, pool=public_pool, name=f"L{n}", phone=f"+861380013800{n}", **kw
        )

    ad = {"source": "ad", "channel": "百度", "campaign_code": "C1"}
    web = {"source": "web_form"}
    held = {"owner": rep_a, "claimed_at": MARCH}
    buyer1 = Customer.objects.create(display_name="买家一")
    buyer5 = Customer.objects.create(display_name="买家五")
    converted_at = MARCH + timedelta(days=2)
    lead(
        1,
        **ad,
        status="converted",
        customer=buyer1,
        converted_at=converted_at,
        first_contacted_at=MARCH + 1 * HOUR,
        **held,
    )
    lead(2, **ad, status="contacted", first_contacted_at=MARCH + 2 * HOUR, **held)
    l3 = lead(
        3, **ad, status="lost", lost_reason="budget", first_contacted_at=MARCH + 3 * HOUR, **held
    )
    LeadEvent.objects.create(lead=l3, kind="status", from_status="contacted", to_status="qualified")
    lead(4, **ad)
    lead(
        5,
        **web,
        status="converted",
        customer=buyer5,
        converted_at=converted_at,
        first_contacted_at=MARCH + 5 * HOUR,
        **held,
    )
    lead(6, **web)
    # Outside the period (February): not counted.
    lead(7, **ad, created_at=MARCH - timedelta(days=30))

    def order(customer, ext, days, amount, unit=unit_a, **kw):
        Transaction.objects.create(
            business_unit=unit,
            customer=customer,
            source="pos",
            external_id=ext,
            channel="store",
            occurred_at=converted_at + timedelta(days=days),
            amount=amount,
            **kw,
        )

    order(buyer1, "A", 10, "800.00")  # in the 90-day window
    order(buyer1, "B", 100, "400.00")  # after the window
    order(buyer1, "C", 11, "-50.00", kind="cancellation")  # a cancellation is no purchase
    order(buyer1, "D", 12, "999.00", unit=unit_b)  # another unit's sale
    order(buyer1, "E", -1, "123.00")  # before the conversion
    order(buyer5, "F", 30, "250.00")
    unit = unit_a
    ChannelCost.objects.create(business_unit=unit, month=date(2026, 3, 1), amount="1000.00", **ad)
    ChannelCost.objects.create(business_unit=unit, month=date(2026, 2, 1), amount="500.00", **ad)
    ChannelCost.objects.create(
        business_unit=unit,
        month=date(2026, 3, 1),
        amount="300.00",
        source="trade_show",
        channel="上海车展",
    )
    return admin_user


def test_funnel_by_month(world):
    (row,) = funnel(user=world, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
    # In: L1-L6; contacted: L1 L2 L3 L5; qualified: L1, L5 (converted) and L3 (lost after
    # being qualified); converted: L1 L5; lost: L3. First contact after 1, 2, 3, 5 h → 2.5 h.
    assert (row.leads, row.contacted, row.qualified, row.converted, row.lost) == (6, 4, 3, 2, 1)
    assert row.contact_rate == Decimal("66.7") and row.conversion_rate == Decimal("33.3")
    assert row.median_first_contact == timedelta(hours=2, minutes=30)


def test_funnel_by_source(world):
    rows = {
        r.key: r
        for r in funnel(
            user=world, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31), by="source"
        )
    }
    assert (rows["ad"].leads, rows["ad"].converted) == (4, 1)
    assert (rows["web_form"].leads, rows["web_form"].converted) == (2, 1)


def test_channel_roi_equals_the_hand_computation(world):
    rows = {
        (r.source, r.channel, r.campaign_code): r
        for r in channel_roi(user=world, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
    }
    ad = rows[("ad", "百度", "C1")]
    # 4 leads, 1 conversion; March spend 1,000.00 (February's 500 is outside); revenue: the
    # 800.00 purchase in the window (not the later 400, the refund, the other unit's 999 or
    # the one before conversion) → cost/lead 250, cost/conversion 1,000, ROI (800-1000)/1000.
    assert (ad.leads, ad.conversions, ad.conversion_rate) == (4, 1, Decimal("25.0"))
    assert (ad.spend, ad.cost_per_lead, ad.cost_per_conversion) == (
        Decimal("1000.00"),
        Decimal("250.00"),
        Decimal("1000.00"),
    )
    assert (ad.revenue, ad.roi) == (Decimal("800.00"), Decimal("-20.0"))
    web = rows[("web_form", "", "")]
    assert (web.leads, web.conversions, web.spend, web.revenue) == (
        2,
        1,
        Decimal(0),
        Decimal("250.00"),
    )
    assert web.cost_per_conversion == Decimal("0.00") and web.roi is None
    show = rows[("trade_show", "上海车展", "")]
    assert (show.leads, show.spend, show.cost_per_lead) == (0, Decimal("300.00"), None)


def test_a_rep_s_figures_cover_only_what_the_rep_sees(world, rep_b):
    (row,) = funnel(user=rep_b, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
    assert row.leads == 2  # the two unclaimed leads of the public pool
