"""A hypothesis state machine drives random sequences of earn, redeem, time travel, expiry,
reversal, adjustment and a customer merge, and checks the ledger's invariants after every
step: balance = sum of entries = sum of lots remaining, never negative; redemptions take lots
oldest first; nothing is consumed from a lot after it expired; a merge keeps the sum; the
settlement lines add up to the points redeemed in another unit than the one that funded
them. Each example runs inside a savepoint rolled back at its end."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from crm.models import SettlementLine
from crm.services import merge_customers
from members import services
from members.errors import InsufficientPoints
from members.models import EntryKind, LotConsumption, Member, PointsEntry, PointsLot
from tests.members.conftest import assert_ledger_consistent

pytestmark = pytest.mark.django_db
# Examples of 12 steps each: a few in ``make test`` (~15 s), many for a long run:
# ``LEDGER_EXAMPLES=500 .venv/bin/python -m pytest tests/members/test_ledger_machine.py``.
EXAMPLES = int(os.environ.get("LEDGER_EXAMPLES", "5"))


@pytest.fixture
def machine(make_member, unit_a, unit_b, admin_user):
    units = [unit_a, unit_b]

    class Ledger(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            self.members = [make_member(), make_member()]
            self.now = timezone.now()
            self.orders: list[tuple[int, int, str]] = []  # (member index, unit index, ref)
            self.serial = 0
            self.merged = False

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

        def _ref(self) -> str:
            self.serial += 1
            return f"X{self.serial}"

        def _member(self, i: int) -> Member:
            return self.members[0] if self.merged else self.members[i]

        @rule(i=st.integers(0, 1), u=st.integers(0, 1), amount=st.integers(1, 300))
        def earn(self, i: int, u: int, amount: int) -> None:
            ref = self._ref()
            services.earn_points(
                member=self._member(i).pk,
                business_unit=units[u],
                reference=ref,
                amount=Decimal(amount),
                now=self.now,
            )
            self.orders.append((i, u, ref))
            self.now += timedelta(hours=1)  # lots earned apart: FIFO order is observable

        @rule(i=st.integers(0, 1), u=st.integers(0, 1), points=st.integers(1, 400))
        def redeem(self, i: int, u: int, points: int) -> None:
            member = self._member(i)
            before = [
                (lot.pk, lot.remaining)
                for lot in PointsLot.objects.filter(
                    member=member, remaining__gt=0, expires_at__gt=self.now
                ).order_by("earned_at", "id")
            ]
            try:
                result = services.redeem_points(
                    member=member.pk,
                    business_unit=units[u],
                    points=points,
                    reference=self._ref(),
                    now=self.now,
                )
            except InsufficientPoints:
                assert sum(r for _pk, r in before) < points
                return
            expected, left = {}, points
            for pk, remaining in before:  # oldest first
                if left == 0:
                    break
                expected[pk] = min(remaining, left)
                left -= expected[pk]
            taken = dict(
                LotConsumption.objects.filter(entry=result.entry).values_list("lot_id", "points")
            )
            assert taken == expected

        @rule(days=st.integers(1, 400))
        def travel(self, days: int) -> None:
            self.now += timedelta(days=days)

        @rule()
        def expire(self) -> None:
            services.expire_due_points(now=self.now)
            again = services.expire_due_points(now=self.now)
            assert again["points"] == 0

        @precondition(lambda self: self.orders)
        @rule(data=st.data())
        def reverse(self, data: st.DataObject) -> None:
            i, u, ref = data.draw(st.sampled_from(self.orders))
            services.reverse_order(
                member=self._member(i).pk,
                business_unit=units[u],
                order_reference=ref,
                reference=f"C-{ref}",
                now=self.now,
            )

        @rule(i=st.integers(0, 1), points=st.integers(-200, 200).filter(bool))
        def adjust(self, i: int, points: int) -> None:
            try:
                services.apply_adjustment(
                    member=self._member(i).pk,
                    business_unit=units[0],
                    points=points,
                    reason="盘点",
                    actor=None,
                    now=self.now,
                )
            except InsufficientPoints:
                assert points < 0

        @precondition(lambda self: not self.merged)
        @rule()
        def merge(self) -> None:
            survivor, loser = (Member.objects.get(pk=m.pk) for m in self.members)
            total = survivor.points_balance + loser.points_balance
            merge_customers(
                survivor=survivor.customer, loser=loser.customer, actor=admin_user, reason="同一人"
            )
            self.merged = True
            survivor.refresh_from_db()
            assert survivor.points_balance == total
            loser.refresh_from_db()
            assert loser.merged_into_id == survivor.pk and loser.points_balance == 0

        @invariant()
        def ledger_holds(self) -> None:
            for member in self.members:
                assert_ledger_consistent(member)
            assert not LotConsumption.objects.filter(
                entry__kind__in=[EntryKind.REDEEM, EntryKind.ADJUST, EntryKind.REVERSE],
                entry__created_at__gte=F("lot__expires_at"),
            ).exists()
            cross = (
                LotConsumption.objects.filter(entry__kind=EntryKind.REDEEM)
                .exclude(lot__funding_business_unit=F("entry__business_unit"))
                .aggregate(s=Sum("points"))["s"]
                or 0
            )
            lines = SettlementLine.objects.aggregate(s=Sum("points"))["s"] or 0
            assert cross == lines
            assert PointsEntry.objects.filter(points__lt=0, kind=EntryKind.EARN).count() == 0

    return Ledger


def test_ledger_state_machine(machine) -> None:
    machine.TestCase.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    machine.TestCase().runTest()
