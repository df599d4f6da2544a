"""Campaigns fixtures: the dealership (unit_a, AUTO) and the property company (unit_b, PROP),
a property-fee template funded by the dealership and redeemable at the property company,
customers by phone."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from campaigns import services
from campaigns.models import CouponKind, CouponTemplate
from campaigns.services.triggers import forget_watched_events
from crm.models import BusinessUnit, Customer
from crm.services import IdentityInput, resolve_customer

_phones = itertools.count(13900000000)


@pytest.fixture(autouse=True)
def _fresh_watch_list() -> None:
    forget_watched_events()


@pytest.fixture
def make_customer(db: Any) -> Callable[..., Customer]:
    def make(name: str = "李四") -> Customer:
        return resolve_customer(
            identities=[IdentityInput("mobile", f"+86{next(_phones)}")],
            attributes={"display_name": name},
            source="crm",
        ).customer

    return make


@pytest.fixture
def make_template(unit_a: BusinessUnit, unit_b: BusinessUnit) -> Callable[..., CouponTemplate]:
    def make(
        *,
        funders: list[tuple[BusinessUnit, Decimal]] | None = None,
        redeemable: list[BusinessUnit] | None = None,
        **fields: Any,
    ) -> CouponTemplate:
        defaults: dict[str, Any] = {
            "business_unit": unit_a,
            "name": "物业费抵扣券 200 元",
            "kind": CouponKind.FIXED,
            "value": Decimal("200"),
            "minimum_spend": Decimal("500"),
            "valid_days": 90,
            "stock": 1000,
            "per_customer_limit": 1,
        }
        defaults.update(fields)
        template = CouponTemplate.objects.create(**defaults)
        services.set_funding(template=template, shares=funders or [(unit_a, Decimal("100"))])
        template.redeemable_units.set(redeemable or [unit_b])
        return template

    return make


@pytest.fixture
def template(make_template: Callable[..., CouponTemplate]) -> CouponTemplate:
    return make_template()


def run_together(jobs: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    """Run ``jobs`` in threads (each on its own connection) released by one barrier."""
    barrier = threading.Barrier(len(jobs))
    done: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            outcome = job()
            with lock:
                done.append(outcome)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    return done, errors


def days(n: int) -> timedelta:
    return timedelta(days=n)


def now() -> Any:
    return timezone.now()
