"""A redemption that loses a race leaves no empty settlement statement (PostgreSQL, real
threads released together): the month's statement of a (funder, unit) pair is created in
the transaction of the redemption that writes a line on it, and undone with it when the
coupon was redeemed elsewhere first."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Count

from campaigns import errors, services
from crm.models.settlement import SettlementLine, SettlementStatement
from tests.campaigns.conftest import run_together
from tests.factories import BusinessUnitFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_lost_race_leaves_no_empty_statement(make_template, make_customer, unit_a) -> None:
    for round_ in range(3):  # each round: two units with no statement yet this month
        units = [
            BusinessUnitFactory(code=f"R{round_}{side.upper()}", name=f"门店{round_}{side}")
            for side in "xy"
        ]
        template = make_template(
            name=f"券{round_}", minimum_spend=Decimal("0"), redeemable=units, stock=10
        )
        coupon = services.issue_coupon(template=template, customer=make_customer())

        def redeem(code: str, unit: int, reference: str):
            return lambda: services.redeem_coupon(
                code=code, business_unit=unit, reference=reference, order_amount="800"
            )

        done, refused = run_together(
            [redeem(coupon.code, units[n % 2].pk, f"POS-{round_}-{n}") for n in range(8)]
        )
        assert len(done) == 1, refused[:3]
        assert all(isinstance(e, errors.CouponAlreadyRedeemed) for e in refused), refused[:3]
    empty = SettlementStatement.objects.annotate(n=Count("lines")).filter(n=0)
    assert list(empty.values_list("debtor__code", "creditor__code")) == []
    assert SettlementStatement.objects.count() == SettlementLine.objects.count() == 3
    assert {s.debtor_id for s in SettlementStatement.objects.all()} == {unit_a.pk}
