"""Customer metrics per business unit (crm/METRICS.md, "Per business unit"): each unit's
figures against a plain-Python reference, the unit's own stage thresholds, rows dropped when
a customer is merged away, and the metrics rule fields with a ``unit`` parameter."""

from __future__ import annotations

import itertools
import threading
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm import services
from crm.models import (
    SEGMENT_GRID,
    Customer,
    CustomerMetrics,
    CustomerUnitMetrics,
    Transaction,
    UnitStageThresholds,
)
from crm.rules import matching_ids_python, matching_ids_sql, validate_rule
from crm.services import table_swap

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 3, 31)
_numbers = itertools.count()
# Unit A counts time in its own way (a dealership: customers come back rarely).
A_LIMITS = {"new_days": 10, "active_days": 40, "at_risk_days": 120, "dormant_days": 300}
GROUP_LIMITS = {"new_days": 30, "active_days": 90, "at_risk_days": 180, "dormant_days": 365}


def at(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=SHANGHAI)


def buy(who, unit, ago: int, amount, *, kind="purchase") -> Transaction:
    return Transaction.objects.create(
        business_unit=unit,
        customer=who,
        source="test",
        external_id=f"U{next(_numbers)}",
        channel="store",
        kind=kind,
        amount=Decimal(amount),
        occurred_at=at(AS_OF - timedelta(days=ago)),
    )


def stage_of(first: int, recency: int, limits: dict[str, int]) -> str:
    if first <= limits["new_days"]:
        return "new"
    for name, key in (("active", "active_days"), ("at_risk", "at_risk_days")):
        if recency <= limits[key]:
            return name
    return "dormant" if recency <= limits["dormant_days"] else "lost"


def _score(buyers: list, key, reverse: bool, mine) -> int:
    """1 + floor(5 (rank - 1) / n), ties taking the lowest rank (RANK())."""
    rank = 1 + sum(1 for b in buyers if (key(b) > mine if reverse else key(b) < mine))
    return 1 + (5 * (rank - 1)) // len(buyers)


# (unit 0 or 1, kind 0 = cancellation else purchase, days ago, amount)
row = st.tuples(st.integers(0, 1), st.integers(0, 3), st.integers(0, 400), st.integers(1, 300))


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(row, max_size=6), min_size=1, max_size=8))
def test_each_units_figures_equal_a_python_reference(unit_a, unit_b, histories) -> None:
    CustomerUnitMetrics.objects.all().delete()
    CustomerMetrics.objects.all().delete()
    Transaction.objects.all().delete()
    Customer.objects.all().delete()
    UnitStageThresholds.objects.update_or_create(business_unit=unit_a, defaults=A_LIMITS)
    units = [unit_a, unit_b]
    people = []
    for history in histories:
        who = Customer.objects.create(display_name="客户")
        people.append(who)
        for unit, kind, ago, amount in history:
            if kind == 0:
                buy(who, units[unit], ago, -amount, kind="cancellation")
            else:
                buy(who, units[unit], ago, amount)
    services.recompute_metrics(as_of=AS_OF)

    # The reference: per (customer, unit), from the histories alone.
    facts: dict[tuple[int, int], tuple[int | None, int, int, list[int]]] = {}
    for who, history in zip(people, histories, strict=True):
        for index, unit in enumerate(units):
            mine = [(k, d, a) for u, k, d, a in history if u == index]
            if not mine:
                continue
            bought = sorted(d for k, d, _a in mine if k)
            spend = sum((a if k else -a) for k, _d, a in mine)
            facts[(who.pk, unit.pk)] = (bought[0] if bought else None, len(bought), spend, bought)

    got = {(m.customer_id, m.business_unit_id): m for m in CustomerUnitMetrics.objects.all()}
    assert set(got) == set(facts)
    for (pk, unit_pk), (recency, freq, spend, bought) in facts.items():
        m = got[(pk, unit_pk)]
        assert (m.recency_days, m.frequency, m.monetary, m.as_of) == (recency, freq, spend, AS_OF)
        if not freq:
            assert (m.r_score, m.rfm_segment, m.lifecycle_stage) == (
                None,
                "no_purchase",
                "prospect",
            )
            continue
        buyers = [f for (p, u), f in facts.items() if u == unit_pk and f[1]]

        r = _score(buyers, lambda f: f[0], True, recency)
        f = _score(buyers, lambda f: f[1], False, freq)
        s = _score(buyers, lambda f: f[2], False, spend)
        assert (m.r_score, m.f_score, m.m_score) == (r, f, s)
        assert m.rfm_segment == SEGMENT_GRID[r][f - 1]
        limits = A_LIMITS if unit_pk == unit_a.pk else GROUP_LIMITS
        assert m.lifecycle_stage == stage_of(bought[-1], recency, limits)


def test_unit_m_scores_tell_cents_apart_and_keep_ties(unit_a) -> None:
    """The unit's M ranks are taken in whole cents (an integer sort): a cent apart ranks
    apart, equal spend ties (the lowest rank), negative net spend ranks lowest."""
    spends = ["10.01", "10.02", "10.01", "9.99", "1000000.50"]
    people = []
    for spend in spends:
        who = Customer.objects.create(display_name="客户")
        buy(who, unit_a, 3, spend)
        people.append(who)
    refunded = Customer.objects.create(display_name="客户")
    buy(refunded, unit_a, 3, "5.00")
    buy(refunded, unit_a, 2, "-7.25", kind="cancellation")
    services.recompute_metrics(as_of=AS_OF)
    scores = dict(
        CustomerUnitMetrics.objects.filter(business_unit=unit_a).values_list(
            "customer_id", "m_score"
        )
    )
    # n = 6 buyers; ranks: -2.25 → 1, 9.99 → 2, 10.01 → 3 (twice), 10.02 → 5, 1,000,000.50 → 6.
    expected = {1: 1, 2: 1, 3: 2, 5: 4, 6: 5}  # rank → 1 + floor(5 (rank - 1) / 6)
    assert scores[refunded.pk] == expected[1]
    assert [scores[p.pk] for p in people] == [
        expected[3],
        expected[5],
        expected[3],
        expected[2],
        expected[6],
    ]


def test_a_unit_without_transactions_has_no_row_and_merged_customers_lose_theirs(
    unit_a, unit_b, admin_user
) -> None:
    kept, gone = (
        Customer.objects.create(display_name="甲"),
        Customer.objects.create(display_name="乙"),
    )
    buy(kept, unit_a, 5, 100)
    buy(gone, unit_b, 5, 100)
    services.recompute_metrics(as_of=AS_OF)
    assert set(CustomerUnitMetrics.objects.values_list("customer_id", "business_unit_id")) == {
        (kept.pk, unit_a.pk),
        (gone.pk, unit_b.pk),
    }
    services.merge_customers(survivor=kept, loser=gone, actor=admin_user, reason="同一人")
    services.recompute_metrics(as_of=AS_OF)
    rows = CustomerUnitMetrics.objects.values_list("customer_id", "business_unit_id", "frequency")
    assert set(rows) == {(kept.pk, unit_a.pk, 1), (kept.pk, unit_b.pk, 1)}


def test_unit_thresholds_must_grow(unit_a) -> None:
    limits = UnitStageThresholds(
        business_unit=unit_a, new_days=10, active_days=90, at_risk_days=60, dormant_days=365
    )
    with pytest.raises(ValidationError) as refused:
        limits.full_clean()
    assert "阶段阈值必须递增" in str(refused.value)


def test_metrics_rule_fields_read_a_units_row_when_given_one(unit_a, unit_b) -> None:
    """ "Active at A but lost at B" from the summary rows; SQL and Python agree."""
    both = Customer.objects.create(display_name="两边")
    only_a = Customer.objects.create(display_name="只A")
    buy(both, unit_a, 50, 900)
    buy(both, unit_a, 20, 100)
    buy(both, unit_b, 400, 50)
    buy(only_a, unit_a, 300, 80)
    services.recompute_metrics(as_of=AS_OF)
    ids = [both.pk, only_a.pk]
    cases = [
        (
            {
                "field": "metrics.lifecycle_stage",
                "op": "in",
                "value": ["active"],
                "params": {"unit": unit_a.pk},
            },
            {both.pk},
        ),
        (
            {
                "all": [
                    {
                        "field": "metrics.lifecycle_stage",
                        "op": "in",
                        "value": ["active"],
                        "params": {"unit": unit_a.pk},
                    },
                    {
                        "field": "metrics.lifecycle_stage",
                        "op": "in",
                        "value": ["lost"],
                        "params": {"unit": unit_b.pk},
                    },
                ]
            },
            {both.pk},
        ),
        (
            {"field": "metrics.frequency", "op": "is_empty", "params": {"unit": unit_b.pk}},
            {only_a.pk},
        ),
        ({"field": "metrics.monetary", "op": "gte", "value": "1000"}, {both.pk}),
        (
            {
                "field": "metrics.monetary",
                "op": "gte",
                "value": "1000",
                "params": {"unit": unit_b.pk},
            },
            set(),
        ),
        ({"field": "metrics.recency_days", "op": "gt", "value": 100}, {only_a.pk}),
    ]
    for rule, expected in cases:
        rule = validate_rule(rule)
        sql, params = matching_ids_sql(rule)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            assert {r[0] for r in cursor.fetchall()} & set(ids) == expected, rule
        assert matching_ids_python(rule, ids) == expected, rule


def _schema(table: str) -> tuple[list, list]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass ORDER BY 1",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [table]
        )
        return constraints, cursor.fetchall()


def test_the_rebuilt_tables_keep_every_index_and_constraint(unit_a, unit_b) -> None:
    """The recompute swaps fresh tables in: same names and definitions as the migrations
    made, the checks and the foreign key still enforced."""
    tables = ["crm_customermetrics", "crm_customerunitmetrics"]
    before = {table: _schema(table) for table in tables}
    assert all(len(indexes) >= 2 for _c, indexes in before.values())
    who = Customer.objects.create(display_name="客户")
    buy(who, unit_a, 3, 100)
    services.recompute_metrics(as_of=AS_OF)
    services.recompute_metrics(as_of=AS_OF)
    assert {table: _schema(table) for table in tables} == before
    assert CustomerUnitMetrics.objects.get(customer=who).frequency == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerUnitMetrics.objects.filter(customer=who).update(r_score=9)
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerUnitMetrics.objects.create(customer=who, business_unit=unit_a, as_of=AS_OF)


@pytest.mark.django_db(transaction=True)
def test_a_long_reader_makes_the_swap_give_up_and_keeps_the_old_figures(unit_a) -> None:
    """A task reading the metrics table holds it: the recompute waits at most the lock
    timeout, then refuses with a message; the old rows stay and readers never queued long."""
    who = Customer.objects.create(display_name="客户")
    buy(who, unit_a, 3, 100)
    services.recompute_metrics(as_of=AS_OF)
    reading, done = threading.Event(), threading.Event()

    def reader() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM crm_customermetrics")
            reading.set()
            done.wait(20)
        connection.close()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert reading.wait(10)
        buy(who, unit_a, 1, 50)
        original = table_swap.SWAP_LOCK_TIMEOUT_MS
        table_swap.SWAP_LOCK_TIMEOUT_MS = 300
        try:
            with pytest.raises(table_swap.TableBusy):
                services.recompute_metrics(as_of=AS_OF)
        finally:
            table_swap.SWAP_LOCK_TIMEOUT_MS = original
    finally:
        done.set()
        thread.join()
    assert CustomerMetrics.objects.get(customer=who).frequency == 1  # the old figures
    services.recompute_metrics(as_of=AS_OF)
    assert CustomerMetrics.objects.get(customer=who).frequency == 2
