from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from crm import services
from crm.models import ApiKey, BusinessUnit, User
from crm.roles import ADMIN, SALES_REP
from tests.factories import BusinessUnitFactory, UserFactory

PASSWORD = "correct-horse-battery"

# Property tests assert outcomes, not speed: a loaded 2-core machine must not fail them.
hypothesis_settings.register_profile("crm", deadline=None)
hypothesis_settings.load_profile("crm")


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Throttle counters live in the cache; every test starts clean."""
    from django.core.cache import cache

    from crm.selectors import forget_source_names

    cache.clear()
    forget_source_names()  # source system names are kept per process


@pytest.fixture
def unit_a(db: Any) -> BusinessUnit:
    return BusinessUnitFactory(code="AUTO", name="星辰汽车")


@pytest.fixture
def unit_b(db: Any) -> BusinessUnit:
    return BusinessUnitFactory(code="PROP", name="星辰物业")


@pytest.fixture
def rep_a(unit_a: BusinessUnit) -> User:
    return UserFactory(username="rep_a", roles=[SALES_REP], units=[unit_a])


@pytest.fixture
def admin_user(unit_a: BusinessUnit) -> User:
    return UserFactory(username="boss", roles=[ADMIN], units=[unit_a], is_staff=True)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def issue_key(db: Any) -> Callable[..., tuple[ApiKey, str]]:
    def make(unit: BusinessUnit, scopes: list[str], **kwargs: Any) -> tuple[ApiKey, str]:
        issued = services.issue_api_key(
            name=kwargs.pop("name", "Store POS"), business_unit=unit, scopes=scopes, **kwargs
        )
        return issued.api_key, issued.raw_key

    return make


def key_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client
