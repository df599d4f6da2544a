"""Concurrent resolution on real PostgreSQL: the unique identity decides, nobody is created
twice, nothing is left orphaned."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.db import close_old_connections, connection

from crm import services
from crm.models import BusinessUnit, Customer, Identity, Transaction
from crm.services import IdentityInput, TransactionInput

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(workers: int, work: Callable[[int], object]) -> list[BaseException]:
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def target(n: int) -> None:
        try:
            barrier.wait()
            work(n)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    return errors


def test_eight_channels_resolving_one_new_phone_at_once_make_one_customer() -> None:
    def work(n: int) -> None:
        services.resolve_customer(
            identities=[
                IdentityInput("mobile", "138 0013 8000"),
                IdentityInput("email", f"c{n}@example.com"),
            ],
            attributes={"display_name": "王伟"},
            source=f"channel{n}",
        )

    assert run_together(8, work) == []
    assert Customer.objects.count() == 1
    customer = Customer.objects.get()
    assert customer.identities.count() == 9  # the phone and eight e-mails


def test_concurrent_batches_sharing_new_customers_leave_no_orphans() -> None:
    unit = BusinessUnit.objects.create(code="MART", name="超市")
    phones = [f"139{n:08d}" for n in range(60)]

    def work(n: int) -> None:
        services.ingest_transactions(
            business_unit=unit,
            source="pos",
            rows=[
                TransactionInput(
                    f"W{n}-{k}",
                    datetime(2026, 1, 1, tzinfo=UTC),
                    "10.00",
                    "store",
                    identities=[IdentityInput("mobile", phone)],
                )
                for k, phone in enumerate(phones)
            ],
            batch_size=20,
        )

    assert run_together(4, work) == []
    assert Transaction.objects.count() == 240
    assert Customer.objects.count() == 60
    assert Identity.objects.count() == 60
    # Every order points to the customer that owns its phone.
    for phone in phones[:10]:
        owner = Identity.objects.get(type="mobile", value=f"+86{phone}").customer_id
        assert set(
            Transaction.objects.filter(external_id__endswith=f"-{phones.index(phone)}").values_list(
                "customer_id", flat=True
            )
        ) == {owner}
