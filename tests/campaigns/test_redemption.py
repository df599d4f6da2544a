"""Validation reasons, exactly-once redemption, replay by reference, settlement, reversal."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from campaigns import codes, errors, services
from campaigns.models import REFERENCE_MAX, CouponKind, CouponReversal, CouponStatus
from campaigns.selectors import coupon_liability
from crm.models.settlement import SettlementLine, SettlementSource, SettlementStatement
from crm.services.blacklist import CustomerBlacklisted
from crm.services.settlement import month_of
from tests.factories import BusinessUnitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def coupon(template, make_customer):
    return services.issue_coupon(template=template, customer=make_customer())


def test_a_valid_coupon_gives_its_discount(coupon, unit_b) -> None:
    found = services.validate_coupon(code=coupon.code, business_unit=unit_b, order_amount="800")
    assert found.discount == Decimal("200.00")
    assert found.coupon == coupon


def test_a_typo_is_refused_before_any_lookup(coupon, unit_b, django_assert_num_queries) -> None:
    typo = coupon.code[:3] + ("X" if coupon.code[3] != "X" else "Y") + coupon.code[4:]
    with django_assert_num_queries(0), pytest.raises(errors.CouponCheckFailed) as caught:
        services.validate_coupon(code=typo, business_unit=unit_b, order_amount="800")
    assert caught.value.code == "coupon_check_failed"
    with django_assert_num_queries(0), pytest.raises(errors.CouponCodeMalformed):
        services.validate_coupon(code="ABC0", business_unit=unit_b, order_amount="800")


def test_each_reason_is_precise(coupon, template, unit_a, unit_b, make_customer) -> None:
    fresh = codes.new_code()
    with pytest.raises(errors.CouponUnknown):
        services.validate_coupon(code=fresh, business_unit=unit_b, order_amount="800")
    with pytest.raises(errors.NotRedeemableHere) as here:
        services.validate_coupon(code=coupon.code, business_unit=unit_a, order_amount="800")
    assert here.value.code == "not_redeemable_here"
    with pytest.raises(errors.BelowMinimumSpend) as below:
        services.validate_coupon(code=coupon.code, business_unit=unit_b, order_amount="499.99")
    assert below.value.code == "below_minimum_spend" and "500" in below.value.message
    later = coupon.valid_until + timedelta(seconds=1)
    with pytest.raises(errors.CouponExpired) as expired:
        services.validate_coupon(
            code=coupon.code, business_unit=unit_b, order_amount="800", now=later
        )
    assert expired.value.code == "coupon_expired"
    earlier = coupon.valid_from - timedelta(seconds=1)
    with pytest.raises(errors.CouponNotYetValid):
        services.validate_coupon(
            code=coupon.code, business_unit=unit_b, order_amount="800", now=earlier
        )
    services.redeem_coupon(
        code=coupon.code, business_unit=unit_b, reference="PF-1", order_amount="800"
    )
    with pytest.raises(errors.CouponAlreadyRedeemed) as redeemed:
        services.validate_coupon(code=coupon.code, business_unit=unit_b, order_amount="800")
    assert redeemed.value.code == "coupon_redeemed"
    assert unit_b.name in redeemed.value.message and "PF-1" in redeemed.value.message
    other = services.issue_coupon(template=template, customer=make_customer())
    services.void_coupons(coupons=[other.pk], reason="发错了")
    with pytest.raises(errors.CouponVoided) as voided:
        services.validate_coupon(code=other.code, business_unit=unit_b, order_amount="800")
    assert "发错了" in voided.value.message


def test_a_blacklisted_owner_cannot_use_a_coupon(coupon, unit_b, admin_user) -> None:
    from crm.models.blacklist import BlacklistEntry, BlacklistReason, BlacklistStatus

    BlacklistEntry.objects.create(
        customer_id=coupon.customer_id,
        reason=BlacklistReason.FRAUD,
        evidence="x",
        status=BlacklistStatus.ACTIVE,
        proposed_by=admin_user,
        decided_at=timezone.now(),
    )
    with pytest.raises(CustomerBlacklisted) as caught:
        services.validate_coupon(code=coupon.code, business_unit=unit_b, order_amount="800")
    assert caught.value.code == "customer_blacklisted"


def test_percentage_with_cap_and_gift(make_template, make_customer, unit_b) -> None:
    pct = make_template(
        kind=CouponKind.PERCENTAGE, value=Decimal("10"), cap=Decimal("50"), minimum_spend=0
    )
    coupon = services.issue_coupon(template=pct, customer=make_customer())
    assert coupon.face_value == Decimal("50")
    small = services.validate_coupon(code=coupon.code, business_unit=unit_b, order_amount="300")
    big = services.validate_coupon(code=coupon.code, business_unit=unit_b, order_amount="3000")
    assert (small.discount, big.discount) == (Decimal("30.00"), Decimal("50"))
    gift = make_template(kind=CouponKind.GIFT, value=Decimal("88"), minimum_spend=0)
    given = services.issue_coupon(template=gift, customer=make_customer())
    assert (
        services.validate_coupon(code=given.code, business_unit=unit_b, order_amount=0).discount
        == 88
    )


def test_redeem_once_and_replay_by_reference(coupon, unit_b) -> None:
    first = services.redeem_coupon(
        code=coupon.code, business_unit=unit_b, reference="PF-1", order_amount="800"
    )
    again = services.redeem_coupon(
        code=codes.display(coupon.code).lower(),
        business_unit=unit_b,
        reference="PF-1",
        order_amount="800",
    )
    assert not first.replayed and again.replayed and again.coupon.pk == coupon.pk
    with pytest.raises(errors.ReferenceReused):
        services.redeem_coupon(
            code=coupon.code, business_unit=unit_b, reference="PF-1", order_amount="900"
        )
    with pytest.raises(errors.CouponAlreadyRedeemed):
        services.redeem_coupon(
            code=coupon.code, business_unit=unit_b, reference="PF-2", order_amount="800"
        )
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED
    assert (coupon.discount, coupon.order_amount) == (Decimal("200.00"), Decimal("800.00"))
    assert SettlementLine.objects.filter(source_kind=SettlementSource.COUPON).count() == 1


def test_cross_unit_redemption_writes_settlement_by_shares(
    make_template, make_customer, unit_a, unit_b
) -> None:
    unit_c = BusinessUnitFactory(code="MART", name="星辰超市")
    template = make_template(
        funders=[(unit_a, Decimal("70")), (unit_c, Decimal("30"))],
        redeemable=[unit_b, unit_c],
        value=Decimal("100"),
        minimum_spend=0,
    )
    coupon = services.issue_coupon(template=template, customer=make_customer())
    services.redeem_coupon(
        code=coupon.code, business_unit=unit_b, reference="PF-9", order_amount="300"
    )
    lines = {
        (line.debtor_id, line.creditor_id): line.amount
        for line in SettlementLine.objects.filter(source_kind=SettlementSource.COUPON)
    }
    assert lines == {(unit_a.pk, unit_b.pk): Decimal("70.00"), (unit_c.pk, unit_b.pk): 30}
    # Redeemed at a funding unit: only the other funder owes its share.
    other = services.issue_coupon(template=template, customer=make_customer())
    services.redeem_coupon(
        code=other.code, business_unit=unit_c, reference="MT-1", order_amount="300"
    )
    assert SettlementLine.objects.filter(creditor=unit_c).get().amount == Decimal("70.00")


def test_a_monthly_statement_sums_to_its_redemptions(template, make_customer, unit_a, unit_b):
    redeemed = []
    for n, amount in enumerate(["600", "900", "1200"]):
        coupon = services.issue_coupon(template=template, customer=make_customer())
        redeemed.append(
            services.redeem_coupon(
                code=coupon.code, business_unit=unit_b, reference=f"PF-{n}", order_amount=amount
            )
        )
    statement = SettlementStatement.objects.get(
        debtor=unit_a, creditor=unit_b, month=month_of(timezone.now())
    )
    total = statement.lines.aggregate(s=Sum("amount"))["s"]
    assert total == sum(r.discount for r in redeemed) == Decimal("600")


def test_reversal_within_the_window_restores_the_coupon(coupon, unit_b) -> None:
    services.redeem_coupon(
        code=coupon.code, business_unit=unit_b, reference="PF-1", order_amount="800"
    )
    reversal = services.reverse_redemption(code=coupon.code, business_unit=unit_b, reference="RF-1")
    assert reversal.record.restored and reversal.record.discount == Decimal("200.00")
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.ISSUED and coupon.redemption_reference is None
    lines = SettlementLine.objects.filter(source_kind=SettlementSource.COUPON)
    net = {(ln.debtor_id, ln.creditor_id): ln.amount for ln in lines}
    assert len(net) == 2 and set(net.values()) == {Decimal("200.00")}  # owed, then owed back
    again = services.reverse_redemption(code=coupon.code, business_unit=unit_b, reference="RF-1")
    assert again.replayed
    with pytest.raises(errors.ReferenceReused):  # the reversed redemption is not replayed
        services.redeem_coupon(
            code=coupon.code, business_unit=unit_b, reference="PF-1", order_amount="800"
        )
    services.redeem_coupon(
        code=coupon.code, business_unit=unit_b, reference="PF-2", order_amount="800"
    )


def test_reversal_after_the_window_keeps_the_coupon_used(coupon, unit_b) -> None:
    services.redeem_coupon(
        code=coupon.code, business_unit=unit_b, reference="PF-1", order_amount="800"
    )
    late = timezone.now() + timedelta(days=31)
    reversal = services.reverse_redemption(
        code=coupon.code, business_unit=unit_b, reference="RF-1", now=late
    )
    assert not reversal.record.restored and "30" in reversal.record.reason
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED
    assert CouponReversal.objects.count() == 1


def test_liability_per_funding_unit_as_of_a_date(make_template, make_customer, unit_a, unit_b):
    unit_c = BusinessUnitFactory(code="MART", name="星辰超市")
    template = make_template(funders=[(unit_a, Decimal("50")), (unit_c, Decimal("50"))])
    start = timezone.now() - timedelta(days=10)
    coupons = [
        services.issue_coupon(template=template, customer=make_customer(), now=start)
        for _ in range(3)
    ]
    services.redeem_coupon(
        code=coupons[0].code, business_unit=unit_b, reference="PF-1", order_amount="900"
    )
    services.void_coupons(coupons=[coupons[1].pk], reason="错发")
    assert coupon_liability() == {unit_a.pk: Decimal("100.00"), unit_c.pk: Decimal("100.00")}
    yesterday = (timezone.localtime() - timedelta(days=1)).date()
    assert coupon_liability(yesterday, business_unit=unit_a) == {unit_a.pk: Decimal("300.00")}
    assert coupon_liability(start - timedelta(days=1)) == {}


def test_expiry_marks_past_coupons_expired(coupon, template, make_customer) -> None:
    later = coupon.valid_until + timedelta(minutes=1)
    assert services.expire_due_coupons(now=later) == 1
    assert services.expire_due_coupons(now=later) == 0
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.EXPIRED


@pytest.mark.django_db(transaction=True)
def test_a_cross_unit_redemption_in_a_pinned_number_of_statements(
    template, make_customer, unit_b, django_assert_num_queries
) -> None:
    """Two statements (the bench's redemptions/s follow this count): one read (the coupon by
    code with its template and units, where it may be redeemed, the blacklist, whether the
    reference was used, the funding shares with the month's statements), then one statement
    writing the conditional UPDATE, the settlement line and the timeline event. The refusal
    of a redeemed code is the read alone. Outside any transaction (as a POS request)."""
    first = services.issue_coupon(template=template, customer=make_customer())
    services.redeem_coupon(
        code=first.code, business_unit=unit_b, reference="POS-0", order_amount="800"
    )  # the month's statement exists from here on, as on any day but the first
    coupon = services.issue_coupon(template=template, customer=make_customer())
    with django_assert_num_queries(2) as captured:
        done = services.redeem_coupon(
            code=coupon.code, business_unit=unit_b, reference="POS-1", order_amount="800"
        )
    read, write = (q["sql"].split(None, 1)[0] for q in captured.captured_queries)
    assert (read, write) == ("SELECT", "WITH")
    assert (
        done.coupon.status == CouponStatus.REDEEMED and done.coupon.redemption_reference == "POS-1"
    )
    lines = SettlementLine.objects.filter(source_reference__startswith=f"coupon:{coupon.pk}:")
    assert [(x.amount, x.statement.month) for x in lines] == [
        (Decimal("200.00"), month_of(done.coupon.redeemed_at))
    ]
    with django_assert_num_queries(1), pytest.raises(errors.CouponAlreadyRedeemed):
        services.redeem_coupon(
            code=coupon.code, business_unit=unit_b, reference="POS-2", order_amount="800"
        )
    third = services.issue_coupon(template=template, customer=make_customer())
    with transaction.atomic(), django_assert_num_queries(4):  # in a caller's transaction,
        services.redeem_coupon(  # the write in a savepoint (SAVEPOINT, RELEASE)
            code=third.code, business_unit=unit_b, reference="POS-3", order_amount="800"
        )


@pytest.mark.django_db(transaction=True)
def test_prepared_statements_survive_a_rollback_and_can_be_turned_off(
    template, make_customer, unit_b, settings
) -> None:
    """The redemption's two statements are prepared on the connection; a rollback (after
    which psycopg forgets what it prepared) prepares them again; a deployment behind a
    transaction-pooling proxy turns them off."""
    coupons = [services.issue_coupon(template=template, customer=make_customer()) for _ in "abc"]
    services.redeem_coupon(
        code=coupons[0].code, business_unit=unit_b, reference="P-0", order_amount="800"
    )
    with pytest.raises(errors.CouponAlreadyRedeemed), transaction.atomic():
        services.redeem_coupon(
            code=coupons[0].code, business_unit=unit_b, reference="P-1", order_amount="800"
        )
    done = services.redeem_coupon(
        code=coupons[1].code, business_unit=unit_b, reference="P-2", order_amount="800"
    )
    settings.PREPARED_STATEMENTS = False
    off = services.redeem_coupon(
        code=coupons[2].code, business_unit=unit_b, reference="P-3", order_amount="800"
    )
    assert done.coupon.status == off.coupon.status == CouponStatus.REDEEMED
    assert SettlementLine.objects.filter(source_kind=SettlementSource.COUPON).count() == 3


def test_a_long_order_reference_settles_and_reverses_without_collisions(
    make_template, make_customer, unit_a, unit_b
) -> None:
    """A reference of the longest allowed length, two funders, then a reversal: every
    settlement line gets its own source reference (they were cut to 120 characters and
    collided: the redemption was refused and the reversal failed)."""
    unit_c = BusinessUnitFactory(code="MART", name="星辰超市")
    template = make_template(
        funders=[(unit_a, Decimal("70")), (unit_c, Decimal("30"))],
        redeemable=[unit_b],
        value=Decimal("100"),
        minimum_spend=0,
    )
    coupon = services.issue_coupon(template=template, customer=make_customer())
    reference = "P" * REFERENCE_MAX
    services.redeem_coupon(
        code=coupon.code, business_unit=unit_b, reference=reference, order_amount="300"
    )
    again = services.redeem_coupon(
        code=coupon.code, business_unit=unit_b, reference=reference, order_amount="300"
    )
    assert again.replayed
    reversal = services.reverse_redemption(
        code=coupon.code, business_unit=unit_b, reference="R" * 120
    )
    assert reversal.record.restored
    lines = SettlementLine.objects.filter(source_kind=SettlementSource.COUPON)
    assert lines.count() == 4  # two owed, two owed back
    assert len({line.source_reference for line in lines}) == 4
    assert all(len(line.source_reference) <= 120 for line in lines)
