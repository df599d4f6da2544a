"""The group overview of coupon results: per issuing unit and per month the coupons issued
and redeemed, the redemption rate, the discount given and the revenue of the redeeming
orders, and which units pay for redemptions at which others, equal to a hand computation on
two units; a unit's staff see their units' figures and the pairs involving them; an empty
state when nothing was issued or redeemed; a fixed number of queries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import selectors, services
from crm.roles import ADMIN, MARKETING
from tests.factories import BusinessUnitFactory, UserFactory

pytestmark = pytest.mark.django_db

PERIOD = {"from": "2026-11", "to": "2026-12"}


def at(month: int, day: int):
    return timezone.make_aware(datetime(2026, month, day, 10, 0))  # Asia/Shanghai


@pytest.fixture
def group(make_template, make_customer, unit_a, unit_b):
    """The dealership (A) issues property-fee coupons (¥200, funded by A, redeemable at the
    property company B): 3 on 5 Nov, 1 on 3 Dec. The property company issues car-care coupons
    (¥100, funded by B, redeemable at A): 2 on 10 Nov. Redeemed: a fee coupon at B on 20 Nov
    (order ¥800), another on 10 Dec (¥600); a car-care coupon at A on 1 Dec (¥1,000).

    Hand computation for Nov-Dec 2026:
      A: issued 4, redeemed 2, 50.0 %, discount ¥400, revenue ¥1,400
      B: issued 2, redeemed 1, 50.0 %, discount ¥100, revenue ¥1,000
      total 6 / 3 / 50.0 %, ¥500, ¥2,400
      Nov: issued 5, redeemed 1, ¥200 (revenue ¥800); Dec: issued 1, redeemed 2, ¥300 (¥1,600)
      A pays for 2 redemptions at B: ¥400; B pays for 1 at A: ¥100."""
    fee = make_template(name="物业费券", value=Decimal("200"), minimum_spend=Decimal("0"))
    care = make_template(
        name="保养券",
        business_unit=unit_b,
        value=Decimal("100"),
        minimum_spend=Decimal("0"),
        funders=[(unit_b, Decimal("100"))],
        redeemable=[unit_a],
    )
    people = [make_customer(f"客户{n}") for n in range(6)]
    fees = [services.issue_coupon(template=fee, customer=c, now=at(11, 5)) for c in people[:3]]
    fees.append(services.issue_coupon(template=fee, customer=people[3], now=at(12, 3)))
    cares = [services.issue_coupon(template=care, customer=c, now=at(11, 10)) for c in people[4:]]
    for coupon, unit, amount, ref, when in (
        (fees[0], unit_b, "800", "PO-1", at(11, 20)),
        (fees[3], unit_b, "600", "PO-2", at(12, 10)),
        (cares[0], unit_a, "1000", "RO-1", at(12, 1)),
    ):
        services.redeem_coupon(
            code=coupon.code, business_unit=unit, reference=ref, order_amount=amount, now=when
        )


def test_the_figures_equal_the_hand_computation(group, admin_user, unit_a, unit_b) -> None:
    o = selectors.group_overview(user=admin_user, start=date(2026, 11, 1), end=date(2026, 12, 31))
    assert (o.issued, o.redeemed, o.rate) == (6, 3, 50.0)
    assert o.discount == {"CNY": Decimal("500.00")} and o.revenue == {"CNY": Decimal("2400.00")}
    assert [(u.unit_id, u.issued, u.redeemed, u.rate, u.discount, u.revenue) for u in o.units] == [
        (unit_a.pk, 4, 2, 50.0, Decimal("400.00"), Decimal("1400.00")),
        (unit_b.pk, 2, 1, 50.0, Decimal("100.00"), Decimal("1000.00")),
    ]
    assert [(m.month, m.issued, m.redeemed, m.discount, m.revenue) for m in o.months] == [
        (date(2026, 11, 1), 5, 1, {"CNY": Decimal("200.00")}, {"CNY": Decimal("800.00")}),
        (date(2026, 12, 1), 1, 2, {"CNY": Decimal("300.00")}, {"CNY": Decimal("1600.00")}),
    ]
    assert [(p.funder_id, p.redeemer_id, p.redemptions, p.amount) for p in o.pairs] == [
        (unit_a.pk, unit_b.pk, 2, Decimal("400.00")),
        (unit_b.pk, unit_a.pk, 1, Decimal("100.00")),
    ]
    # November alone: the December redemption of a November coupon is outside the period
    nov = selectors.group_overview(user=admin_user, start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert (nov.issued, nov.redeemed) == (5, 1)
    assert [(p.funder_id, p.amount) for p in nov.pairs] == [(unit_a.pk, Decimal("200.00"))]


def test_a_units_staff_see_their_units_and_the_pairs_involving_them(group, unit_a, unit_b) -> None:
    prop = UserFactory(username="prop", roles=[MARKETING], units=[unit_b])
    o = selectors.group_overview(user=prop, start=date(2026, 11, 1), end=date(2026, 12, 31))
    assert [u.unit_id for u in o.units] == [unit_b.pk] and o.issued == 2
    assert len(o.pairs) == 2  # both involve the property company
    third = BusinessUnitFactory(code="MART", name="星辰超市")
    mart = UserFactory(username="mart", roles=[MARKETING], units=[third])
    o = selectors.group_overview(user=mart, start=date(2026, 11, 1), end=date(2026, 12, 31))
    assert (o.issued, o.units, o.pairs) == (0, [], [])


def test_the_page_shows_charts_and_the_same_numbers(client, group, admin_user) -> None:
    client.force_login(admin_user)
    campaigns = client.get(reverse("campaigns:campaign-list")).content.decode()
    url = reverse("campaigns:overview")
    assert f'href="{url}"' in campaigns
    page = client.get(url, PERIOD).content.decode()
    for chart in ("chart-months", "chart-units", "chart-flows"):
        assert f'data-testid="{chart}"' in page
    assert "<script>" not in page and "js/campaign_results.js" in page
    assert 'data-testid="overview-issued">6<' in page
    assert 'data-testid="overview-redeemed">3<' in page
    assert 'data-testid="overview-rate">50.0%<' in page
    assert 'data-testid="overview-discount">¥500.00<' in page
    assert 'data-testid="overview-revenue">¥2,400.00<' in page
    assert page.count('data-testid="overview-month-row"') == 2
    assert page.count('data-testid="overview-unit-row"') == 2
    assert page.count('data-testid="overview-pair-row"') == 2
    assert page.index("¥400.00</td></tr>") < page.index("¥100.00</td></tr>")  # by value
    assert "优惠券效果总览" in page and "事业部间价值往来" in page


def test_empty_states(client, admin_user, make_template, make_customer) -> None:
    client.force_login(admin_user)
    url = reverse("campaigns:overview")
    page = client.get(url, PERIOD).content.decode()
    assert 'data-testid="empty-state"' in page and "本期间未发券" in page
    assert "echarts" not in page
    template = make_template(minimum_spend=Decimal("0"))
    services.issue_coupon(template=template, customer=make_customer(), now=at(11, 5))
    page = client.get(url, PERIOD).content.decode()
    assert 'data-testid="overview-issued">1<' in page
    assert "尚无核销" in page and 'data-testid="chart-flows"' not in page


def test_the_period_is_read_with_care(client, admin_user) -> None:
    client.force_login(admin_user)
    url = reverse("campaigns:overview")
    response = client.get(url, {"from": "2026-12", "to": "2026-11"})
    assert response.context["overview"].start == date(2026, 11, 1)
    assert response.context["overview"].end == date(2026, 12, 31)
    assert 'data-testid="overview-problem"' in response.content.decode()
    response = client.get(url, {"from": "junk", "to": "2027-13"})
    assert response.status_code == 200 and len(response.context["overview"].months) == 12


def test_the_page_runs_a_fixed_number_of_queries(
    client, group, unit_a, unit_b, make_template, make_customer, django_assert_num_queries
) -> None:
    marketer = UserFactory(username="mkt", roles=[MARKETING], units=[unit_a, unit_b])
    client.force_login(marketer)
    url = reverse("campaigns:overview")
    client.get(url, PERIOD)
    # 5: the rollup's state is read first (never refreshed here: computed from the coupons);
    # the user with its permissions and units is one statement (crm.auth_backends)
    with django_assert_num_queries(5):
        client.get(url, PERIOD)
    third = BusinessUnitFactory(code="MART", name="星辰超市")
    marketer.business_units.add(third)
    gift = make_template(
        name="超市券",
        business_unit=third,
        value=Decimal("50"),
        minimum_spend=Decimal("0"),
        funders=[(third, Decimal("100"))],
        redeemable=[unit_a],
    )
    for n in range(3):
        coupon = services.issue_coupon(template=gift, customer=make_customer(), now=at(11, 7))
        services.redeem_coupon(
            code=coupon.code,
            business_unit=unit_a,
            reference=f"M-{n}",
            order_amount="100",
            now=at(12, 2 + n),
        )
    page = client.get(url, PERIOD).content.decode()
    assert page.count('data-testid="overview-unit-row"') == 3
    assert page.count('data-testid="overview-pair-row"') == 3
    with django_assert_num_queries(5):
        client.get(url, PERIOD)


def test_only_campaign_readers_see_it(client, unit_a) -> None:
    desk = UserFactory(username="desk", roles=["member_service"], units=[unit_a])
    client.force_login(desk)
    assert client.get(reverse("campaigns:overview")).status_code == 403
    boss = UserFactory(username="boss2", roles=[ADMIN], units=[unit_a])
    client.force_login(boss)
    assert client.get(reverse("campaigns:overview")).status_code == 200
