"""Earning, redeeming, reversing, adjusting, expiring: the ledger's rules one by one."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import IntegrityError
from django.utils import timezone

from crm.models import LedgerIsAppendOnly, SettlementLine
from members import services
from members.errors import InsufficientPoints, MemberFrozen, ReferenceReused
from members.models import EntryKind, LotConsumption, PointsEntry, PointsLot
from tests.members.conftest import assert_ledger_consistent

pytestmark = pytest.mark.django_db


def test_earn_forms_a_lot_and_the_same_reference_applies_once(make_member, unit_a) -> None:
    member = make_member()
    first = services.earn_points(
        member=member, business_unit=unit_a, reference="ORD-1", amount=Decimal("120.50")
    )
    again = services.earn_points(
        member=member, business_unit=unit_a, reference="ORD-1", amount=Decimal("120.50")
    )
    assert first.points == 120 and not first.replayed
    assert again.replayed and again.entry.pk == first.entry.pk
    assert PointsEntry.objects.filter(member=member, kind=EntryKind.EARN).count() == 1
    lot = PointsLot.objects.get(member=member)
    assert lot.amount == lot.remaining == 120
    assert lot.expires_at == lot.earned_at + timedelta(days=731) or lot.expires_at > lot.earned_at
    assert_ledger_consistent(member)
    with pytest.raises(ReferenceReused):
        services.earn_points(
            member=member, business_unit=unit_a, reference="ORD-1", amount=Decimal("99")
        )


def test_redeem_is_fifo_settles_across_units_and_refuses_too_much(
    make_member, unit_a, unit_b
) -> None:
    member = make_member()
    now = timezone.now()
    services.earn_points(
        member=member,
        business_unit=unit_a,
        reference="A1",
        amount=Decimal("60"),
        now=now - timedelta(days=2),
    )
    services.earn_points(
        member=member,
        business_unit=unit_b,
        reference="B1",
        amount=Decimal("40"),
        now=now - timedelta(days=1),
    )
    result = services.redeem_points(member=member, business_unit=unit_b, points=70, reference="R1")
    assert result.balance == 30
    lots = list(PointsLot.objects.filter(member=member).order_by("earned_at"))
    assert [lot.remaining for lot in lots] == [0, 30]
    line = SettlementLine.objects.get()
    assert (line.debtor_id, line.creditor_id, line.points) == (unit_a.pk, unit_b.pk, 60)
    assert line.amount == Decimal("0.60")
    with pytest.raises(InsufficientPoints) as exc:
        services.redeem_points(member=member, business_unit=unit_a, points=31, reference="R2")
    assert exc.value.code == "insufficient_points"
    again = services.redeem_points(member=member, business_unit=unit_b, points=70, reference="R1")
    assert again.replayed and again.balance == 30
    assert_ledger_consistent(member)


def test_nothing_is_spent_from_an_expired_lot_and_expiry_twice_changes_nothing(
    make_member, unit_a
) -> None:
    member = make_member()
    now = timezone.now()
    services.earn_points(
        member=member,
        business_unit=unit_a,
        reference="OLD",
        amount=Decimal("50"),
        now=now - timedelta(days=800),
    )
    services.earn_points(
        member=member, business_unit=unit_a, reference="NEW", amount=Decimal("30"), now=now
    )
    with pytest.raises(InsufficientPoints):
        services.redeem_points(member=member, business_unit=unit_a, points=40, reference="X")
    assert_ledger_consistent(member)  # the redemption's expiry rolled back with it
    first = services.expire_due_points(now=now)
    second = services.expire_due_points(now=now)
    assert first["points"] == 50 and second["points"] == 0
    assert PointsEntry.objects.filter(member=member, kind=EntryKind.EXPIRE).count() == 1
    assert_ledger_consistent(member)
    assert member.points_balance == 30


def test_reversal_takes_the_order_lots_then_records_the_uncollectable(make_member, unit_a) -> None:
    member = make_member()
    services.earn_points(member=member, business_unit=unit_a, reference="O1", amount=Decimal("100"))
    services.redeem_points(member=member, business_unit=unit_a, points=70, reference="R")
    result = services.reverse_order(
        member=member, business_unit=unit_a, order_reference="O1", reference="C1"
    )
    kinds = {e.kind: e for e in result.entries}
    assert kinds[EntryKind.REVERSE].points == -30
    assert kinds[EntryKind.UNCOLLECTABLE].unrecovered == 70
    assert result.balance == 0
    assert services.reverse_order(
        member=member, business_unit=unit_a, order_reference="O1", reference="C1"
    ).replayed
    assert (
        services.reverse_order(
            member=member, business_unit=unit_a, order_reference="O1", reference="C2"
        ).entries
        == []
    )
    assert_ledger_consistent(member)


def test_frozen_member_neither_earns_nor_spends(make_member, unit_a, desk) -> None:
    member = make_member()
    services.freeze_member(member=member, user=desk, reason="suspected fraud")
    with pytest.raises(MemberFrozen):
        services.earn_points(
            member=member, business_unit=unit_a, reference="F", amount=Decimal("1")
        )
    services.unfreeze_member(member=member, user=desk, reason="cleared")
    assert (
        services.earn_points(
            member=member, business_unit=unit_a, reference="F", amount=Decimal("1")
        ).points
        == 1
    )


def test_entries_cannot_be_changed_through_the_orm_or_sql(make_member, unit_a) -> None:
    member = make_member()
    entry = services.earn_points(
        member=member, business_unit=unit_a, reference="E", amount=Decimal("10")
    ).entry
    entry.points = 999
    with pytest.raises(LedgerIsAppendOnly):
        entry.save()
    with pytest.raises(LedgerIsAppendOnly):
        entry.delete()
    with pytest.raises(LedgerIsAppendOnly):
        PointsEntry.objects.filter(pk=entry.pk).update(points=5)
    with pytest.raises(LedgerIsAppendOnly):
        PointsEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(LedgerIsAppendOnly):
        LotConsumption.objects.all().delete()
    for merging, sql in (
        (False, "UPDATE members_pointsentry SET points = 5 WHERE id = %s"),
        (False, "DELETE FROM members_pointsentry WHERE id = %s"),
        # Even the merge's session flag lets only the owner move, never the points.
        (True, "UPDATE members_pointsentry SET points = 5 WHERE id = %s"),
        (True, "DELETE FROM members_pointsentry WHERE id = %s"),
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            if merging:
                cursor.execute("SELECT set_config('crm.ledger_reassign', 'on', true)")
            cursor.execute(sql, [entry.pk])
    assert PointsEntry.objects.get(pk=entry.pk).points == 10


def test_expiry_walks_the_members_in_batches_and_misses_none(make_member, unit_a) -> None:
    now = timezone.now()
    members = [make_member() for _ in range(5)]
    for n, member in enumerate(members):
        for k in range(2):  # two due lots each, one still valid
            services.earn_points(
                member=member,
                business_unit=unit_a,
                reference=f"OLD-{n}-{k}",
                amount=Decimal("10"),
                now=now - timedelta(days=800 + k),
            )
        services.earn_points(
            member=member, business_unit=unit_a, reference=f"NEW-{n}", amount=Decimal("7"), now=now
        )
    counts = services.expire_due_points(now=now, batch_size=2)  # three batches
    assert counts == {"lots": 10, "points": 100, "members": 5}
    for member in members:
        assert_ledger_consistent(member)
        assert member.points_balance == 7


def test_a_member_blacklisted_after_enrolment_earns_and_redeems_nothing_until_lifted(
    make_member, unit_a, admin_user
) -> None:
    """The check rides on the member's lock (an EXISTS in the same statement): proposed does
    not bind, active and lifting do, lifted does not."""
    from crm.roles import DATA_STEWARD
    from crm.services import (
        approve_blacklisting,
        approve_lifting,
        propose_blacklisting,
        propose_lifting,
    )
    from crm.services.blacklist import CustomerBlacklisted
    from tests.factories import UserFactory

    member = make_member()
    services.earn_points(member=member, business_unit=unit_a, reference="B-0", amount=Decimal(50))
    steward = UserFactory(roles=[DATA_STEWARD], units=[unit_a])
    entry = propose_blacklisting(
        customer=member.customer, user=admin_user, reason="fraud", evidence="x"
    )
    services.earn_points(member=member, business_unit=unit_a, reference="B-1", amount=Decimal(10))
    approve_blacklisting(entry=entry, user=steward)
    for call in (
        lambda: services.earn_points(
            member=member, business_unit=unit_a, reference="B-2", amount=Decimal(10)
        ),
        lambda: services.redeem_points(
            member=member, business_unit=unit_a, points=5, reference="R"
        ),
    ):
        with pytest.raises(CustomerBlacklisted) as refused:
            call()
        assert refused.value.code == "customer_blacklisted"
        assert entry.get_reason_display() in str(refused.value)  # why, in the reader's language
    propose_lifting(entry=entry, user=admin_user, reason="paid")
    with pytest.raises(CustomerBlacklisted):  # lifting not yet approved: still binding
        services.redeem_points(member=member, business_unit=unit_a, points=5, reference="R")
    approve_lifting(entry=entry, user=steward)
    assert (
        services.redeem_points(member=member, business_unit=unit_a, points=5, reference="R").points
        == -5
    )
    assert_ledger_consistent(member)


def test_earn_and_redeem_each_take_two_statements(
    make_member, unit_a, unit_b, django_assert_num_queries
) -> None:
    """Pinned: the member's lock, then one statement writing everything (entries, lots, the
    FIFO consumption, expiry of due lots, settlement lines, balance, timeline), inside the
    service's transaction (a savepoint here: the test runs in a transaction). One statement
    more, whatever the member's history, fails this test."""
    member = make_member()
    now = timezone.now()
    old = now - timedelta(days=800)  # its lots are due: a redemption expires them first
    services.earn_points(member=member, business_unit=unit_a, reference="P-0", amount=40, now=old)
    for i, days in ((1, 3), (2, 2)):
        services.earn_points(
            member=member,
            business_unit=unit_b,
            reference=f"P-{i}",
            amount=Decimal("30"),
            now=now - timedelta(days=days),
        )
    with django_assert_num_queries(2) as earn:
        services.earn_points(member=member, business_unit=unit_a, reference="P-3", amount=50)
    sql = [q["sql"] for q in earn.captured_queries]
    assert "FOR UPDATE OF m" in sql[0] and sql[1].lstrip().startswith("WITH")
    # the first cross-unit redemption of the month also creates the B -> A statement
    services.redeem_points(member=member, business_unit=unit_a, points=10, reference="R-1")
    services.earn_points(member=member, business_unit=unit_a, reference="P-4", amount=7, now=old)
    with django_assert_num_queries(2) as redeem:
        result = services.redeem_points(
            member=member, business_unit=unit_a, points=60, reference="R-2"
        )
    sql = [q["sql"] for q in redeem.captured_queries]
    assert "FOR UPDATE OF m" in sql[0] and sql[1].lstrip().startswith("WITH")
    # FIFO: 20 left of P-1, all 30 of P-2 (both funded by B), 10 of P-3; P-4 expired
    taken = LotConsumption.objects.filter(entry=result.entry).order_by("lot__earned_at")
    assert [(c.lot.order_reference, c.points) for c in taken] == [
        ("P-1", 20),
        ("P-2", 30),
        ("P-3", 10),
    ]
    assert PointsEntry.objects.filter(member=member, kind=EntryKind.EXPIRE).count() == 2
    lines = SettlementLine.objects.filter(source_reference__startswith=f"entry:{result.entry.pk}:")
    assert sorted(line.points for line in lines) == [20, 30]
    assert {(line.debtor_id, line.creditor_id) for line in lines} == {(unit_b.pk, unit_a.pk)}
    assert result.balance == 40 and result.entry.points == -60
    assert_ledger_consistent(member)


def test_a_redeem_answers_the_member_with_its_level(make_member, unit_a) -> None:
    """The redeem's lock reads no ladder: the member it answers keeps its level (it was
    answered with none, which a caller saving it would have written)."""
    member = make_member()
    assert member.level_id is not None
    services.earn_points(member=member, business_unit=unit_a, reference="L1", amount=Decimal("50"))
    result = services.redeem_points(member=member, business_unit=unit_a, points=10, reference="L2")
    assert result.member.level_id == member.level_id
    assert result.member.level.code == member.level.code


def test_an_order_worth_only_its_bonus_still_counts_its_spend(make_member, unit_a, rules) -> None:
    """The day's cap taken, a first purchase earns only its bonus: the bonus entry carries the
    order's spend, so a spend-based level still sees the order (it counted nothing before)."""
    rules["a"].cap_per_day = 0
    rules["a"].first_purchase_bonus = 50
    rules["a"].save()
    member = make_member()
    result = services.earn_points(
        member=member, business_unit=unit_a, reference="ONLY-BONUS", amount=Decimal("300")
    )
    assert [(e.reason, e.points) for e in result.entries] == [("first", 50)]
    entry = PointsEntry.objects.get(member=member)
    assert entry.spend == Decimal("300")
    assert_ledger_consistent(member)


def test_a_bonus_only_order_replayed_with_another_amount_is_refused(
    make_member, unit_a, rules
) -> None:
    """The replay check reads the order's spend wherever it is: on the bonus entry when the
    purchase earned nothing (it looked only at the purchase entry, so another amount was
    answered as a replay)."""
    rules["a"].cap_per_day = 0
    rules["a"].first_purchase_bonus = 50
    rules["a"].save()
    member = make_member()
    services.earn_points(member=member, business_unit=unit_a, reference="B1", amount=Decimal("300"))
    again = services.earn_points(
        member=member, business_unit=unit_a, reference="B1", amount=Decimal("300")
    )
    assert again.replayed
    with pytest.raises(ReferenceReused):
        services.earn_points(
            member=member, business_unit=unit_a, reference="B1", amount=Decimal("299")
        )
