"""Coupons under concurrency on PostgreSQL: real threads, each on its own connection,
released together by a barrier."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import IntegrityError, connection, transaction

from campaigns import errors, services
from campaigns.models import Coupon, CouponHolding, CouponStatus, CouponTemplate
from crm.models.settlement import SettlementLine
from tests.campaigns.conftest import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_redemptions_of_one_code_make_one(template, make_customer, unit_b) -> None:
    coupon = services.issue_coupon(template=template, customer=make_customer())

    def redeem(n: int):
        return lambda: services.redeem_coupon(
            code=coupon.code, business_unit=unit_b.pk, reference=f"POS-{n}", order_amount="800"
        )

    done, refused = run_together([redeem(n) for n in range(50)])

    assert len(done) == 1 and not done[0].replayed
    assert len(refused) == 49
    assert all(isinstance(e, errors.CouponAlreadyRedeemed) for e in refused), refused[:3]
    winner = Coupon.objects.get(pk=coupon.pk)
    assert winner.status == CouponStatus.REDEEMED
    assert all(winner.redemption_reference in e.message for e in refused)
    assert SettlementLine.objects.count() == 1


def test_twenty_bulk_issues_against_a_stock_of_a_hundred(make_template, make_customer) -> None:
    template = make_template(stock=100)
    customers = [make_customer().pk for _ in range(200)]

    def bulk(n: int):
        return lambda: services.start_bulk_issue(
            template=template.pk,
            customer_ids=customers[n * 10 : n * 10 + 10],
            key=f"run-{n}",
            run_now=True,
        )

    done, failed = run_together([bulk(n) for n in range(20)])

    assert not failed, failed[:3]
    template.refresh_from_db()
    assert template.issued_count == 100
    assert Coupon.objects.filter(template=template).count() == 100
    assert sum(b.issued for b in done) == 100
    assert sum(b.skipped_stock for b in done) == 100


def test_twenty_requests_of_one_customer_against_a_limit_of_one(template, make_customer) -> None:
    customer = make_customer()
    done, refused = run_together(
        [lambda: services.issue_coupon(template=template.pk, customer=customer.pk)] * 20
    )
    assert len(done) == 1
    assert Counter(type(e) for e in refused) == {errors.CouponLimitReached: 19}
    assert Coupon.objects.filter(customer=customer).count() == 1
    assert CouponHolding.objects.get(customer=customer).issued == 1
    assert CouponTemplate.objects.get(pk=template.pk).issued_count == 1


def test_forcing_an_overshoot_with_raw_sql_fails_on_a_constraint(make_template, make_customer):
    template = make_template(stock=2)
    customer = make_customer()
    services.issue_coupon(template=template, customer=customer)
    statements = [
        (
            "template_issued_within_stock",
            f"UPDATE {CouponTemplate._meta.db_table} SET issued_count = 3",
        ),
        (
            "coupon_holding_within_limit",
            f"UPDATE {CouponHolding._meta.db_table} SET issued = issued + 1",
        ),
        (
            "coupon_redeemed_has_redemption",
            f"UPDATE {Coupon._meta.db_table} SET status = 'redeemed'",
        ),
    ]
    for constraint, sql in statements:
        with (
            pytest.raises(IntegrityError, match=constraint),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert CouponTemplate.objects.get(pk=template.pk).issued_count == 1


def test_the_same_redemption_sent_eight_times_at_once_applies_once(
    template, make_customer, unit_b
) -> None:
    coupon = services.issue_coupon(template=template, customer=make_customer())
    done, failed = run_together(
        [
            lambda: services.redeem_coupon(
                code=coupon.code, business_unit=unit_b.pk, reference="POS-1", order_amount="800"
            )
        ]
        * 8
    )
    assert not failed, failed[:3]
    assert sum(1 for r in done if not r.replayed) == 1
    assert SettlementLine.objects.count() == 1
