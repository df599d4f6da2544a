"""Accounts fixtures: valid USCCs, a second unit's rep, a manager, the seeded stages."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from accounts import services
from accounts.models import Account, ContactRole, OpportunityStage
from crm.models import BusinessUnit, User
from crm.normalizers import uscc_check_char
from crm.roles import SALES_MANAGER, SALES_REP
from crm.services import IdentityInput
from tests.factories import UserFactory

_serial = itertools.count(1)


def make_uscc(n: int | None = None) -> str:
    first17 = f"91310000{(n if n is not None else next(_serial)):09d}"
    return first17 + uscc_check_char(first17)


@pytest.fixture
def rep_b(unit_b: BusinessUnit) -> User:
    return UserFactory(username="rep_b", roles=[SALES_REP], units=[unit_b])


@pytest.fixture
def manager_a(unit_a: BusinessUnit) -> User:
    return UserFactory(username="manager_a", roles=[SALES_MANAGER], units=[unit_a])


@pytest.fixture
def stages(db: Any) -> dict[str, OpportunityStage]:
    return {s.code: s for s in OpportunityStage.objects.all()}


@pytest.fixture
def roles(db: Any) -> dict[str, ContactRole]:
    return {r.code: r for r in ContactRole.objects.all()}


@pytest.fixture
def make_account(rep_a: User, unit_a: BusinessUnit) -> Callable[..., Account]:
    def make(
        name: str = "星辰科技有限公司", *, unit: BusinessUnit | None = None, **kw: Any
    ) -> Account:
        return services.create_account(
            uscc=kw.pop("uscc", None) or make_uscc(),
            name=name,
            user=kw.pop("user", rep_a),
            business_unit=unit or unit_a,
            **kw,
        ).account

    return make


def phone(n: int) -> list[IdentityInput]:
    return [IdentityInput("mobile", f"1380013{n:04d}")]
