"""Leads fixtures: a unit's public pool and a team pool, reps and a manager, leads."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from crm.models import BusinessUnit, User
from crm.roles import SALES_MANAGER, SALES_REP
from leads.models import Lead, LeadPool, LeadPoolMember, PoolKind
from tests.factories import UserFactory

_phones = itertools.count(13900000000)


def next_phone() -> str:
    return f"+86{next(_phones)}"


@pytest.fixture
def public_pool(unit_a: BusinessUnit) -> LeadPool:
    return LeadPool.objects.create(
        business_unit=unit_a, name="公海", kind=PoolKind.PUBLIC, hold_limit=5
    )


@pytest.fixture
def team_pool(unit_a: BusinessUnit, rep_a: User, manager: User) -> LeadPool:
    pool = LeadPool.objects.create(business_unit=unit_a, name="华东组", hold_limit=5)
    LeadPoolMember.objects.create(pool=pool, user=rep_a)
    LeadPoolMember.objects.create(pool=pool, user=manager, role="manager")
    return pool


@pytest.fixture
def manager(unit_a: BusinessUnit) -> User:
    return UserFactory(username="mgr_a", roles=[SALES_MANAGER], units=[unit_a])


@pytest.fixture
def rep_b(unit_a: BusinessUnit) -> User:
    return UserFactory(username="rep_b", roles=[SALES_REP], units=[unit_a])


@pytest.fixture
def make_lead(public_pool: LeadPool) -> Callable[..., Lead]:
    """A lead written directly (for selectors and rules); intake has its own tests."""

    def make(pool: LeadPool | None = None, **kwargs: Any) -> Lead:
        pool = pool or public_pool
        kwargs.setdefault("name", "李雷")
        kwargs.setdefault("phone", next_phone())
        return Lead.objects.create(business_unit_id=pool.business_unit_id, pool=pool, **kwargs)

    return make


@pytest.fixture
def blacklist(manager: User, unit_a: BusinessUnit) -> Callable[[Any], Any]:
    """Blacklist a customer for real: proposed by a manager, approved by a steward."""
    from crm import services as crm_services
    from crm.roles import DATA_STEWARD

    steward = UserFactory(username="steward_l", roles=[DATA_STEWARD], units=[unit_a])

    def make(customer: Any) -> Any:
        entry = crm_services.propose_blacklisting(
            customer=customer, user=manager, reason="fraud", evidence="法院判决 (2026) 闽01民初1号"
        )
        return crm_services.approve_blacklisting(entry=entry, user=steward)

    return make
