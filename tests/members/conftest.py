"""Members fixtures: two units with earning rules, a point value, members by phone."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum

from crm.models import BusinessUnit, User
from crm.roles import DATA_STEWARD, MEMBER_SERVICE
from crm.services import IdentityInput
from members import services
from members.models import EarningRule, Member, PointsEntry, PointsLot, PointValue
from tests.factories import UserFactory

_phones = itertools.count(13800000000)


def next_phone() -> str:
    return f"+86{next(_phones)}"


@pytest.fixture
def rules(unit_a: BusinessUnit, unit_b: BusinessUnit) -> dict[str, EarningRule]:
    PointValue.objects.create(valid_from=date(2020, 1, 1), value=Decimal("0.0100"))
    return {
        "a": EarningRule.objects.create(business_unit=unit_a, points_per_unit=Decimal("1")),
        "b": EarningRule.objects.create(business_unit=unit_b, points_per_unit=Decimal("1")),
    }


@pytest.fixture
def make_member(rules: dict[str, EarningRule], unit_a: BusinessUnit) -> Callable[..., Member]:
    def make(unit: BusinessUnit | None = None, phone: str | None = None, **kwargs: Any) -> Member:
        return services.enrol_member(
            business_unit=unit or unit_a,
            channel=kwargs.pop("channel", "store"),
            identities=[IdentityInput("mobile", phone or next_phone())],
            attributes=kwargs.pop("attributes", {"display_name": "张三"}),
            **kwargs,
        ).member

    return make


@pytest.fixture
def desk(unit_a: BusinessUnit) -> User:
    return UserFactory(username="desk", roles=[MEMBER_SERVICE], units=[unit_a])


@pytest.fixture
def steward(unit_a: BusinessUnit) -> User:
    return UserFactory(username="steward", roles=[DATA_STEWARD], units=[unit_a])


def assert_ledger_consistent(member: Member) -> None:
    """Balance = sum of entries = sum of lots remaining, never negative."""
    member.refresh_from_db()
    entries = PointsEntry.objects.filter(member=member).aggregate(s=Sum("points"))["s"] or 0
    lots = PointsLot.objects.filter(member=member).aggregate(s=Sum("remaining"))["s"] or 0
    assert member.points_balance == entries == lots, (member.points_balance, entries, lots)
    assert member.points_balance >= 0
