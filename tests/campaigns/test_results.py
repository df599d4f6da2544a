"""A campaign's results: coupons issued and redeemed (核销) per day, redemption rate and
discount per template, and what the funding unit owes the redeeming unit, hand-computed from
a small fixture; the page draws three charts over the same figures in tables, says when
nothing was issued, is scoped like the campaign page and runs a fixed number of queries."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from campaigns import selectors, services
from campaigns.models import Campaign
from crm.models import SettlementLine
from crm.roles import MARKETING, MEMBER_SERVICE
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DAY1 = timezone.make_aware(datetime(2026, 11, 2, 10, 0))  # Asia/Shanghai
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY1 + timedelta(days=2)


@pytest.fixture
def marketer(unit_a):
    return UserFactory(username="mkt", roles=[MARKETING], units=[unit_a])


@pytest.fixture
def campaign(unit_a, marketer) -> Campaign:
    return Campaign.objects.create(
        business_unit=unit_a,
        name="购车送物业费",
        starts_on=date(2026, 11, 1),
        ends_on=date(2026, 12, 31),
        budget=Decimal("100000"),
        owner=marketer,
    )


def issue(template, campaign, customers, when):
    return [
        services.issue_coupon(template=template, customer=c, campaign=campaign, now=when)
        for c in customers
    ]


@pytest.fixture
def figures(campaign, make_template, make_customer, unit_b):
    """Property-fee coupons (¥200, funded by the dealership, redeemable at the property
    company): 3 issued on day 1, 1 on day 2; 2 redeemed at the property company on day 3 for
    orders of ¥800 and ¥600. Car-wash coupons (¥50): 2 issued on day 2, none redeemed."""
    fee = make_template(name="物业费券", value=Decimal("200"), minimum_spend=Decimal("500"))
    wash = make_template(name="洗车券", value=Decimal("50"), minimum_spend=Decimal("0"))
    people = [make_customer(f"客户{n}") for n in range(4)]
    fees = issue(fee, campaign, people[:3], DAY1) + issue(fee, campaign, people[3:], DAY2)
    issue(wash, campaign, people[:2], DAY2)
    for coupon, amount, ref in ((fees[0], "800", "PO-1"), (fees[3], "600", "PO-2")):
        services.redeem_coupon(
            code=coupon.code, business_unit=unit_b, reference=ref, order_amount=amount, now=DAY3
        )
    return fee, wash


def test_the_figures_are_exact(campaign, figures, unit_a, unit_b) -> None:
    results = selectors.campaign_results(campaign)
    assert (results.issued, results.redeemed) == (6, 2)
    assert results.discount == Decimal("400.00") and results.revenue == Decimal("1400.00")
    assert [(d.day, d.issued, d.redeemed, d.discount) for d in results.days] == [
        (date(2026, 11, 2), 3, 0, Decimal("0.00")),
        (date(2026, 11, 3), 3, 0, Decimal("0.00")),
        (date(2026, 11, 4), 0, 2, Decimal("400.00")),
    ]
    by_name = {t.name: t for t in results.templates}
    assert (by_name["物业费券"].issued, by_name["物业费券"].redeemed) == (4, 2)
    assert by_name["物业费券"].rate == 50.0
    assert by_name["物业费券"].discount == Decimal("400.00")
    assert by_name["物业费券"].revenue == Decimal("1400.00")
    assert (by_name["洗车券"].issued, by_name["洗车券"].redeemed, by_name["洗车券"].rate) == (
        2,
        0,
        0.0,
    )
    # The dealership funded the coupons, the property company took them: it is owed ¥400.
    assert [(s.debtor_id, s.creditor_id, s.amount) for s in results.settlements] == [
        (unit_a.pk, unit_b.pk, Decimal("400.00"))
    ]
    assert SettlementLine.objects.count() == 2  # the ledger agrees, line by line


def test_split_funding_settles_only_the_other_units_share(
    campaign, make_template, make_customer, unit_a, unit_b
) -> None:
    # Funded 60 % by the dealership, 40 % by the property company, redeemed at the latter:
    # only the dealership's share crosses units.
    shared = make_template(
        name="共担券",
        value=Decimal("100"),
        minimum_spend=Decimal("0"),
        funders=[(unit_a, Decimal("60")), (unit_b, Decimal("40"))],
    )
    coupon = issue(shared, campaign, [make_customer()], DAY1)[0]
    services.redeem_coupon(
        code=coupon.code, business_unit=unit_b, reference="PO-9", order_amount="300", now=DAY2
    )
    results = selectors.campaign_results(campaign)
    assert [(s.debtor_id, s.creditor_id, s.amount) for s in results.settlements] == [
        (unit_a.pk, unit_b.pk, Decimal("60.00"))
    ]


def test_the_group_wide_variant_covers_a_date_range(
    campaign, figures, marketer, unit_a, unit_b
) -> None:
    everything = selectors.group_results(
        user=marketer, start=date(2026, 11, 1), end=date(2026, 11, 30)
    )
    assert (everything.issued, everything.redeemed, everything.discount) == (
        6,
        2,
        Decimal("400.00"),
    )
    day_one = selectors.group_results(user=marketer, start=date(2026, 11, 2), end=date(2026, 11, 2))
    assert (day_one.issued, day_one.redeemed) == (3, 1)
    assert [(s.debtor_id, s.amount) for s in day_one.settlements] == [
        (unit_a.pk, Decimal("200.00"))
    ]
    outsider = UserFactory(username="other", roles=[MARKETING], units=[unit_b])
    theirs = selectors.group_results(user=outsider, start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert theirs.issued == 0 and theirs.settlements == []


def test_the_page_shows_charts_and_the_same_numbers(client, marketer, campaign, figures) -> None:
    client.force_login(marketer)
    detail = client.get(reverse("campaigns:campaign-detail", args=[campaign.pk])).content.decode()
    url = reverse("campaigns:campaign-results", args=[campaign.pk])
    assert f'href="{url}"' in detail
    page = client.get(url).content.decode()
    for chart in ("chart-days", "chart-rates", "chart-settlement"):
        assert f'data-testid="{chart}"' in page
    assert 'id="days-data"' in page and "js/campaign_results.js" in page
    assert "<script>" not in page  # the CSP forbids inline script
    assert "活动效果" in page and "核销率" in page and "事业部间结算" in page
    assert 'data-testid="results-issued">6<' in page
    assert 'data-testid="results-redeemed">2<' in page
    assert 'data-testid="results-rate">33.3%<' in page
    assert page.count('data-testid="results-day-row"') == 3
    assert page.count('data-testid="results-template-row"') == 2
    assert page.count('data-testid="results-settlement-row"') == 1
    assert "400.00" in page and "1,400.00" in page
    with translation.override("en"):
        english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Campaign results" in english and "Settlement between units" in english


def test_nothing_issued_shows_the_empty_state(client, marketer, campaign) -> None:
    client.force_login(marketer)
    page = client.get(reverse("campaigns:campaign-results", args=[campaign.pk])).content.decode()
    assert 'data-testid="empty-state"' in page and "尚未发券" in page
    assert "chart-days" not in page and "echarts" not in page


def test_scope_and_permission(client, campaign, unit_b, admin_user) -> None:
    url = reverse("campaigns:campaign-results", args=[campaign.pk])
    outsider = UserFactory(username="other", roles=[MARKETING], units=[unit_b])
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    desk = UserFactory(username="desk", roles=[MEMBER_SERVICE], units=[campaign.business_unit])
    client.force_login(desk)
    assert client.get(url).status_code == 403


def test_the_page_runs_a_fixed_number_of_queries(
    client, marketer, campaign, figures, make_customer, unit_b, django_assert_num_queries
) -> None:
    client.force_login(marketer)
    url = reverse("campaigns:campaign-results", args=[campaign.pk])
    client.get(url)
    with django_assert_num_queries(7):
        client.get(url)
    fee, _wash = figures
    more = [make_customer(f"新客{n}") for n in range(6)]
    coupons = issue(fee, campaign, more, DAY1 + timedelta(days=5))
    for n, coupon in enumerate(coupons[:4]):
        services.redeem_coupon(
            code=coupon.code,
            business_unit=unit_b,
            reference=f"PO-M{n}",
            order_amount="500",
            now=DAY1 + timedelta(days=6 + n),
        )
    page = client.get(url).content.decode()
    assert page.count('data-testid="results-day-row"') == 8
    with django_assert_num_queries(7):
        client.get(url)


def test_a_reversed_redemption_nets_out_of_the_settlement(
    campaign, make_template, make_customer, unit_a, unit_b
) -> None:
    fee = make_template(
        name="可退券",
        value=Decimal("200"),
        minimum_spend=Decimal("0"),
        reversible_on_refund=True,
        reversal_window_days=30,
    )
    first, second = issue(fee, campaign, [make_customer(), make_customer()], DAY1)
    for coupon, ref in ((first, "PO-1"), (second, "PO-2")):
        services.redeem_coupon(
            code=coupon.code, business_unit=unit_b, reference=ref, order_amount="900", now=DAY2
        )
    services.reverse_redemption(code=first.code, business_unit=unit_b, reference="RF-1", now=DAY3)
    results = selectors.campaign_results(campaign)
    assert (results.issued, results.redeemed) == (2, 1)
    assert SettlementLine.objects.count() == 3  # two redemptions, one reversal
    assert [(s.debtor_id, s.creditor_id, s.amount) for s in results.settlements] == [
        (unit_a.pk, unit_b.pk, Decimal("200.00"))
    ]
