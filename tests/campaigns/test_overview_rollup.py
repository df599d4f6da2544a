"""The overview read from the monthly rollup equals the overview computed from the coupons
once the rollup job has run, whatever happened in between: issues, redemptions this month
and earlier, a reversal of an earlier month's redemption, expiry, voiding, split funding,
a funding change, a unit's staff; the redemption on the clock writes no mark; the page says
as of when, in a fixed number of queries; the job shows in the admin with its progress."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from campaigns import selectors, services
from campaigns.models import CouponMonthRollup, CouponRollupMark
from crm.models import Job
from crm.roles import MARKETING
from tests.factories import BusinessUnitFactory, UserFactory

pytestmark = pytest.mark.django_db

CLOCK = datetime(2026, 12, 20, 10, 0, tzinfo=timezone.get_fixed_timezone(480))
PERIODS = [
    (date(2026, 9, 1), date(2026, 12, 31)),
    (date(2026, 10, 1), date(2026, 10, 31)),
    (date(2026, 11, 1), date(2026, 12, 31)),
    (date(2026, 12, 1), date(2026, 12, 31)),
]


def at(month: int, day: int, hour: int = 10):
    return timezone.make_aware(datetime(2026, month, day, hour, 0))  # Asia/Shanghai


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(CLOCK, tick=False):
        yield


@pytest.fixture
def mart():
    return BusinessUnitFactory(code="MART", name="星辰超市")


@pytest.fixture
def coupons(make_template, make_customer, unit_a, unit_b, mart):
    """The dealership's fee coupons (¥33.33, funded 60/40 by the dealership and the
    supermarket, redeemable at the property company): 4 in October, 3 in November, 2 in
    December; the property company's car-care coupons (¥100, its own, redeemable at the
    dealership): 2 in November. Redeemed in October, November and December."""
    fee = make_template(
        name="物业费券",
        value=Decimal("33.33"),
        minimum_spend=Decimal("0"),
        funders=[(unit_a, Decimal("60")), (mart, Decimal("40"))],
        reversal_window_days=90,
    )
    care = make_template(
        name="保养券",
        business_unit=unit_b,
        value=Decimal("100"),
        minimum_spend=Decimal("0"),
        funders=[(unit_b, Decimal("100"))],
        redeemable=[unit_a],
    )
    days = [at(10, 3)] * 4 + [at(11, 5)] * 3 + [at(12, 2)] * 2
    fees = [
        services.issue_coupon(template=fee, customer=make_customer(f"客户{n}"), now=when)
        for n, when in enumerate(days)
    ]
    cares = [
        services.issue_coupon(template=care, customer=make_customer(f"车主{n}"), now=at(11, 10))
        for n in range(2)
    ]
    for coupon, unit, amount, when in (
        (fees[0], unit_b, "800", at(10, 20)),
        (fees[1], unit_b, "500", at(11, 2)),
        (fees[4], unit_b, "650", at(11, 30, 23)),
        (fees[5], unit_b, "900", at(12, 1)),
        (cares[0], unit_a, "1000", at(12, 5)),
    ):
        services.redeem_coupon(
            code=coupon.code,
            business_unit=unit,
            reference=f"PO-{coupon.pk}",
            order_amount=amount,
            now=when,
        )
    return {"fee": fee, "care": care, "fees": fees, "cares": cares}


def _figures(o):
    return (
        o.issued,
        o.redeemed,
        o.discount,
        o.revenue,
        [(u.unit_id, u.currency, u.issued, u.redeemed, u.discount, u.revenue) for u in o.units],
        [(m.month, m.issued, m.redeemed, m.discount, m.revenue) for m in o.months],
        [(p.funder_id, p.redeemer_id, p.currency, p.redemptions, p.amount) for p in o.pairs],
    )


def assert_rollup_equals_live(*users):
    for user in users:
        for start, end in PERIODS:
            read = selectors.group_overview(user=user, start=start, end=end)
            live = selectors.group_overview(user=user, start=start, end=end, live=True)
            assert read.as_of is not None and live.as_of is None
            assert _figures(read) == _figures(live), (user, start, end)


def test_the_rollup_equals_the_coupons_after_the_job(coupons, admin_user, unit_b, mart) -> None:
    CouponRollupMark.objects.all().delete()  # coupons from before the rollup existed
    assert services.refresh_rollup()["full"]  # the first run rebuilds every month
    assert not services.refresh_rollup()["full"]
    prop = UserFactory(username="prop", roles=[MARKETING], units=[unit_b])
    shop = UserFactory(username="shop", roles=[MARKETING], units=[mart])
    assert_rollup_equals_live(admin_user, prop, shop)
    o = selectors.group_overview(user=admin_user, start=date(2026, 10, 1), end=date(2026, 12, 31))
    assert (o.issued, o.redeemed) == (11, 5)
    # split funding: 4 redemptions of ¥33.33 at PROP, 60 % by AUTO, 40 % by MART, rounded
    # per pair (¥79.992 → ¥79.99; ¥53.328 → ¥53.33)
    amounts = {(p.funder, p.redeemer): (p.redemptions, p.amount) for p in o.pairs}
    assert sorted(v for v in amounts.values()) == [
        (1, Decimal("100.00")),
        (4, Decimal("53.33")),
        (4, Decimal("79.99")),
    ]
    assert o.as_of == CLOCK


def test_every_change_is_seen_by_the_next_run(coupons, admin_user, unit_a, unit_b) -> None:
    services.refresh_rollup()
    CouponRollupMark.objects.all().delete()
    fees, cares = coupons["fees"], coupons["cares"]
    # on the clock: a redemption and an issue of this month leave no mark
    services.redeem_coupon(
        code=fees[6].code, business_unit=unit_b, reference="PO-now", order_amount="700"
    )
    services.issue_coupon(template=coupons["care"], customer=fees[0].customer)
    assert CouponRollupMark.objects.count() == 0
    # the October redemption reversed and its coupon given back: October's mark
    services.reverse_redemption(code=fees[0].code, business_unit=unit_b, reference="RF-1")
    # a redemption dated in November (an import): November's mark
    services.redeem_coupon(
        code=cares[1].code,
        business_unit=unit_a,
        reference="RO-late",
        order_amount="300",
        now=at(11, 28),
    )
    assert sorted(CouponRollupMark.objects.values_list("issued_month", "redeemed_month")) == sorted(
        [(None, date(2026, 10, 1)), (None, date(2026, 11, 1))]
    )
    # expiry and voiding change no cell
    assert services.expire_due_coupons(now=at(12, 19) + timedelta(days=120)) > 0
    services.void_coupons(coupons=[cares[0].pk, fees[7].pk], reason="录入错误")
    stale = selectors.group_overview(
        user=admin_user, start=date(2026, 9, 1), end=date(2026, 12, 31)
    )
    live = selectors.group_overview(
        user=admin_user, start=date(2026, 9, 1), end=date(2026, 12, 31), live=True
    )
    assert _figures(stale) != _figures(live)  # as of the last run until the next
    services.refresh_rollup()
    assert CouponRollupMark.objects.count() == 0
    prop = UserFactory(username="prop", roles=[MARKETING], units=[unit_b])
    assert_rollup_equals_live(admin_user, prop)


def test_a_funding_change_needs_no_run(coupons, admin_user, unit_a, unit_b) -> None:
    services.refresh_rollup()
    services.set_funding(
        template=coupons["fee"], shares=[(unit_a, Decimal("25")), (unit_b, Decimal("75"))]
    )
    assert_rollup_equals_live(admin_user)


def _cells():
    return list(
        CouponMonthRollup.objects.order_by(
            "template", "issued_month", "redeemed_month", "redeemed_business_unit"
        ).values_list(
            "template", "issued_month", "redeemed_month", "issued", "redeemed", "discount"
        )
    )


def test_a_full_rebuild_equals_the_runs_and_reads_raw_loads(coupons, admin_user) -> None:
    services.refresh_rollup()
    before = _cells()
    result = services.refresh_rollup(full=True)
    after = _cells()
    assert before == after and result["full"] and result["months"] == 3
    with connection.cursor() as cursor:  # a raw load dated in August (as the bench does)
        cursor.execute(
            "UPDATE campaigns_coupon SET issued_at = %s WHERE id = %s",
            [at(8, 8), coupons["fees"][8].pk],
        )
    services.refresh_rollup(full=True)
    assert_rollup_equals_live(admin_user)


def _page_queries(client, period) -> tuple[int, str]:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("campaigns:overview"), period).content.decode()
    return len(queries), page


def test_the_page_reads_the_rollup_in_a_fixed_number_of_queries(
    client, coupons, admin_user, make_customer, unit_b
) -> None:
    client.force_login(admin_user)
    services.refresh_rollup()
    period = {"from": "2026-09", "to": "2026-12"}
    count, page = _page_queries(client, period)
    assert count == PAGE_QUERIES
    assert 'data-testid="overview-as-of">数据截至 2026-12-20 10:00' in page
    assert 'data-testid="overview-issued">11<' in page
    for n in range(3):  # more coupons, months and pairs: the same queries
        coupon = services.issue_coupon(
            template=coupons["care"], customer=make_customer(f"新客{n}"), now=at(9, 9 + n)
        )
        services.redeem_coupon(
            code=coupon.code,
            business_unit=coupons["fee"].business_unit,
            reference=f"N{n}",
            order_amount="400",
            now=at(9, 20 + n),
        )
    services.refresh_rollup()
    assert _page_queries(client, period)[0] == PAGE_QUERIES
    assert _figures(
        selectors.group_overview(user=admin_user, start=date(2026, 9, 1), end=date(2026, 12, 31))
    ) == _figures(
        selectors.group_overview(
            user=admin_user, start=date(2026, 9, 1), end=date(2026, 12, 31), live=True
        )
    )


PAGE_QUERIES = 5  # session, the user (permissions, units), the rollup's state, its two reads


def test_the_rebuild_is_a_job_with_progress_started_from_the_admin(
    client, coupons, admin_user
) -> None:
    from crm.beat import CELERY_BEAT_SCHEDULE
    from crm.jobs import run_job

    assert "campaigns.tasks.refresh_rollup" in {e["task"] for e in CELERY_BEAT_SCHEDULE.values()}
    client.force_login(admin_user)
    changelist = client.get(reverse("admin:campaigns_couponrollupstate_changelist"))
    assert 'data-testid="rollup-rebuild"' in changelist.content.decode()
    url = reverse("admin:campaigns_couponrollupstate_rebuild")
    assert "重建" in client.get(url).content.decode()
    response = client.post(url)
    job = Job.objects.get(kind="campaigns.refresh_rollup")
    assert response.url == reverse("job-detail", args=[job.pk])
    assert run_job(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.progress == 100 and job.result["full"] and job.result["months"] == 3
    assert_rollup_equals_live(admin_user)
    marketing = UserFactory(username="mk", roles=[MARKETING], is_staff=True)
    client.force_login(marketing)
    assert client.post(url).status_code == 403


def test_the_beat_task_refreshes_in_place_without_a_job_row(coupons, admin_user) -> None:
    from campaigns.tasks import refresh_rollup

    result = refresh_rollup()
    assert result["months"] >= 1
    assert not Job.objects.filter(kind="campaigns.refresh_rollup").exists()
    assert_rollup_equals_live(admin_user)
