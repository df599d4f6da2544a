"""The segment facts of the per-unit metrics rows (crm/METRICS.md, "Segment facts in the
per-unit rows"): the copies of the customer's kind and mobile phones stay exact whatever
writes the master (ORM, raw SQL, a merge moving identities, a kind changed, a write that
commits while a recompute runs); the group's net spend and the customer's units are those of
the same recompute; and a rule anchored on a unit's row counts exactly what its conditions
counted apart, reading nothing but that row."""

from __future__ import annotations

import itertools
import threading
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from crm import selectors, services
from crm.models import Customer, CustomerMetrics, CustomerUnitMetrics, Identity, Transaction
from crm.rules import matching_ids_sql
from crm.services import metrics as metrics_service

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 3, 31)
_numbers = itertools.count()


def buy(who, unit, ago: int, amount, *, kind="purchase") -> Transaction:
    return Transaction.objects.create(
        business_unit=unit,
        customer=who,
        source="test",
        external_id=f"F{next(_numbers)}",
        channel="store",
        kind=kind,
        amount=Decimal(amount),
        occurred_at=datetime.combine(AS_OF - timedelta(days=ago), time(12), tzinfo=SHANGHAI),
    )


def mobile(who, number: int | None = None) -> Identity:
    value = f"+86138{number if number is not None else next(_numbers):08d}"
    return Identity.objects.create(customer=who, type="mobile", value=value)


def master_copies() -> dict[tuple[int, int], tuple[str, int]]:
    return {
        (r.customer_id, r.business_unit_id): (r.customer_kind, r.customer_mobiles)
        for r in CustomerUnitMetrics.objects.all()
    }


def expected_copies() -> dict[tuple[int, int], tuple[str, int]]:
    """The same facts read from the master itself."""
    found = {}
    for r in CustomerUnitMetrics.objects.select_related("customer"):
        mobiles = Identity.objects.filter(customer_id=r.customer_id, type="mobile").count()
        found[(r.customer_id, r.business_unit_id)] = (r.customer.kind, mobiles)
    return found


def test_a_recompute_writes_every_copy(unit_a, unit_b) -> None:
    one, two, org = (
        Customer.objects.create(display_name="甲"),
        Customer.objects.create(display_name="乙"),
        Customer.objects.create(display_name="丙公司", kind="organization"),
    )
    mobile(one)
    mobile(one)
    Identity.objects.create(customer=two, type="email", value="two@example.com")
    buy(one, unit_a, 5, 100)
    buy(one, unit_b, 50, 30)
    buy(one, unit_b, 40, -10, kind="cancellation")
    buy(two, unit_b, 200, 80)
    buy(org, unit_a, 3, 1000)
    services.recompute_metrics(as_of=AS_OF)
    assert master_copies() == expected_copies()
    assert master_copies()[(one.pk, unit_a.pk)] == ("person", 2)
    assert master_copies()[(org.pk, unit_a.pk)] == ("organization", 0)
    group = dict(CustomerMetrics.objects.values_list("customer_id", "monetary"))
    for r in CustomerUnitMetrics.objects.all():
        assert r.customer_monetary == group[r.customer_id]
        units = CustomerUnitMetrics.objects.filter(customer_id=r.customer_id)
        assert r.customer_units == sorted(units.values_list("business_unit_id", flat=True))
    in_b = CustomerUnitMetrics.objects.get(customer=one, business_unit=unit_b)
    assert in_b.customer_monetary == Decimal("120.00")


def test_the_copies_follow_every_writer_of_the_master(unit_a, unit_b, admin_user) -> None:
    """Identities added (ORM, bulk, raw SQL), moved, retyped and deleted, kinds changed, two
    customers merged: after each, the copies equal the master, with no recompute."""
    one = Customer.objects.create(display_name="甲")
    two = Customer.objects.create(display_name="乙")
    buy(one, unit_a, 5, 100)
    buy(one, unit_b, 9, 100)
    buy(two, unit_a, 7, 100)
    services.recompute_metrics(as_of=AS_OF)
    assert master_copies()[(one.pk, unit_a.pk)] == ("person", 0)

    first = mobile(one)
    assert master_copies() == expected_copies()
    Identity.objects.bulk_create(
        [Identity(customer=one, type="mobile", value=f"+8613900000{n:03d}") for n in range(3)]
        + [Identity(customer=two, type="email", value="b@example.com")]
    )
    assert master_copies()[(one.pk, unit_b.pk)] == ("person", 4)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO crm_identity (customer_id, type, value) VALUES (%s, 'mobile', %s)",
            [two.pk, "+8613700000001"],
        )
    assert master_copies() == expected_copies()
    Identity.objects.filter(pk=first.pk).update(customer=two)  # moved
    assert master_copies() == expected_copies()
    Identity.objects.filter(customer=two, type="email").update(type="mobile")  # retyped
    assert master_copies() == expected_copies()
    assert master_copies()[(two.pk, unit_a.pk)] == ("person", 3)
    Identity.objects.filter(customer=one, type="mobile").first().delete()
    assert master_copies() == expected_copies()

    two.kind = "organization"
    two.save()
    assert master_copies()[(two.pk, unit_a.pk)] == ("organization", 3)
    Customer.objects.filter(pk=two.pk).update(kind="person")
    assert master_copies() == expected_copies()

    services.merge_customers(survivor=one, loser=two, actor=admin_user, reason="同一人")
    assert master_copies() == expected_copies()
    assert master_copies()[(one.pk, unit_a.pk)] == ("person", 5)
    assert master_copies()[(two.pk, unit_a.pk)] == ("person", 0)


@pytest.mark.django_db(transaction=True)
def test_a_mobile_added_while_a_recompute_runs_is_not_lost_by_its_swap(unit_a) -> None:
    """The recompute reads the master early and swaps its rows in late: a phone committed in
    between updated the old rows (the trigger) and is re-read before the swap."""
    who = Customer.objects.create(display_name="客户")
    buy(who, unit_a, 3, 100)
    services.recompute_metrics(as_of=AS_OF)
    newcomer = Customer.objects.create(display_name="新客户")  # no row before this recompute
    buy(newcomer, unit_a, 2, 50)
    written, resume = threading.Event(), threading.Event()
    original = metrics_service.write_unit_metrics
    errors: list[BaseException] = []

    def paused(*args, **kwargs):
        fresh = original(*args, **kwargs)
        written.set()
        assert resume.wait(20)
        return fresh

    def recompute() -> None:
        try:
            services.recompute_metrics(as_of=AS_OF)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    metrics_service.write_unit_metrics = paused
    try:
        thread = threading.Thread(target=recompute)
        thread.start()
        assert written.wait(20)
        mobile(who)  # committed (autocommit) while the recompute holds its fresh rows
        mobile(newcomer)
        Customer.objects.filter(pk=newcomer.pk).update(kind="organization")
        resume.set()
        thread.join(30)
    finally:
        metrics_service.write_unit_metrics = original
    assert not errors
    assert CustomerUnitMetrics.objects.get(customer=who).customer_mobiles == 1
    assert master_copies()[(newcomer.pk, unit_a.pk)] == ("organization", 1)
    assert master_copies() == expected_copies()


COPIES = ("customer_kind", "customer_mobiles", "customer_monetary", "customer_units")
BENCH_LIKE = {
    "all": [
        {"field": "metrics.lifecycle_stage", "op": "in", "value": ["active", "at_risk"]},
        {"field": "metrics.frequency", "op": "is_empty"},
        {"field": "metrics.monetary", "op": "gte", "value": "100"},
        {"field": "customer.kind", "op": "in", "value": ["person"]},
        {"field": "customer.identities", "op": "has_any", "value": ["mobile"]},
    ]
}


def bench_like(bought: int, never: int, *, none: bool = False) -> dict:
    rule = {"all": [dict(c) for c in BENCH_LIKE["all"]]}
    rule["all"][0]["params"] = {"unit": bought}
    rule["all"][1]["params"] = {"unit": never}
    if none:
        rule["all"][4] = {**rule["all"][4], "op": "has_none"}
    return rule


def test_a_rule_anchored_on_a_units_row_reads_nothing_else(unit_a, unit_b) -> None:
    """The shape the segment count's speed rests on: one EXISTS over the unit's row holding
    every condition, no join with the identities or the group's metrics."""
    sql, params = matching_ids_sql(bench_like(unit_a.pk, unit_b.pk))
    assert sql.count("EXISTS") == 1
    assert "crm_identity" not in sql and "crm_customermetrics" not in sql
    assert sql.count("crm_customerunitmetrics") == 1
    assert all(f"x.{copy}" in sql for copy in COPIES)
    assert params[:2] == [unit_a.pk, ["active", "at_risk"]]
    # Without an anchor (no unit given), every condition keeps its own test.
    plain = {"all": [{**c, "params": {}} for c in BENCH_LIKE["all"]]}
    sql, _params = matching_ids_sql(plain)
    assert "crm_identity" in sql and not any(f"x.{copy}" in sql for copy in COPIES)


def test_folded_counts_equal_each_condition_counted_apart(unit_a, unit_b, admin_user) -> None:
    """Counted through the folded rule, and as the intersection of each condition counted on
    its own (no fold possible), after the master changed since the recompute."""
    people = [Customer.objects.create(display_name=f"客户{n}") for n in range(8)]
    org = Customer.objects.create(display_name="公司", kind="organization")
    for n, who in enumerate([*people, org]):
        buy(who, unit_a, 10 + 40 * (n % 4), 60 + 30 * n)
        if n % 3 == 0:
            buy(who, unit_b, 20, 10)
        if n % 2 == 0:
            mobile(who)
    mobile(org)
    services.recompute_metrics(as_of=AS_OF)
    # The master changes after the recompute: the copies follow, the figures do not change.
    mobile(people[1])
    Identity.objects.filter(customer=people[2], type="mobile").delete()
    Customer.objects.filter(pk=people[4].pk).update(kind="organization")
    services.merge_customers(survivor=people[5], loser=people[6], actor=admin_user, reason="同一")
    same_row = bench_like(unit_a.pk, unit_b.pk)  # two more conditions on unit A's row
    same_row["all"] += [
        {
            "field": "metrics.rfm_segment",
            "op": "not_in",
            "value": ["lost"],
            "params": {"unit": unit_a.pk},
        },
        {"field": "metrics.recency_days", "op": "is_empty", "params": {"unit": unit_a.pk}},
        {"field": "metrics.monetary", "op": "lte", "value": "250", "params": {"unit": unit_a.pk}},
    ]
    sql, _params = matching_ids_sql(same_row)
    assert sql.count("EXISTS") == 1
    rules = [
        bench_like(unit_a.pk, unit_b.pk),
        bench_like(unit_b.pk, unit_a.pk),
        bench_like(unit_a.pk, unit_b.pk, none=True),
        same_row,
        {"all": same_row["all"][:3] + same_row["all"][-1:]},
    ]
    for rule in rules:
        apart = None
        for condition in rule["all"]:
            sql, params = matching_ids_sql(condition)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                ids = {r[0] for r in cursor.fetchall()}
            apart = ids if apart is None else apart & ids
        assert selectors.count_rule(rule) == len(apart)
        assert set(selectors.rule_customers(rule).values_list("pk", flat=True)) == apart
    assert selectors.count_rule(bench_like(unit_a.pk, unit_b.pk)) > 0
