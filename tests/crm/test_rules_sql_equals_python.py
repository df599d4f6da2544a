"""The rule compiler's SQL and the Python evaluator agree: on random small data sets
(customers with purchases, cancellations and refunds in two units and two currencies, tags,
identities and consent histories) and random rules over every field of the customer master,
with every operator, window and unit parameter, nested all/any/not groups, the customers
the SQL selects are exactly those the evaluator (raw rows, aggregated in Python) matches."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.models import (
    Consent,
    Customer,
    CustomerTag,
    Identity,
    Tag,
    TagCategory,
    Transaction,
)
from crm.rules import matching_ids_python, matching_ids_sql, validate_rule

# Midnight in Shanghai: whole days back from it fall exactly on the edges of the date and
# day-window operators, so that a < where <= was meant shows.
NOW = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
EDGE_DAYS = [0, 1, 7, 30, 31, 90, 365, 366]
REGIONS = ["上海", "北京", "shanghai", "Beijing", ""]
TEXTS = ["上海", "hai", "Bei", "x", "北"]
CHANNELS = ["sms", "email", "wechat", "phone"]
PURPOSES = ["marketing", "service"]
IDENTITY_TYPES = ["mobile", "email", "wechat_unionid"]

days = st.one_of(st.sampled_from(EDGE_DAYS), st.integers(min_value=0, max_value=800))
transactions = st.fixed_dictionaries(
    {
        "unit": st.integers(0, 1),
        "cancel": st.booleans(),
        "status": st.sampled_from(["completed", "partly_refunded", "refunded"]),
        "amount": st.one_of(
            st.sampled_from([Decimal(0), Decimal(10), Decimal("25.50"), Decimal(100)]),
            st.decimals(min_value=0, max_value=3000, places=2),
        ),
        "currency": st.sampled_from(["CNY", "CNY", "USD"]),
        "days": days,
    }
)
consents = st.tuples(
    st.sampled_from(CHANNELS), st.sampled_from(PURPOSES), st.booleans(), st.integers(0, 400)
)
customers = st.lists(
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["person", "organization"]),
            "gender": st.sampled_from(["", "female", "male"]),
            "region": st.sampled_from(REGIONS),
            "source": st.sampled_from(["pos", "web", ""]),
            "created": days,
            "transactions": st.lists(transactions, max_size=5),
            "tags": st.sets(st.integers(0, 2)),
            "consents": st.lists(consents, max_size=4),
            "identities": st.sets(st.sampled_from(IDENTITY_TYPES)),
        }
    ),
    min_size=1,
    max_size=6,
)


def _window(draw_params: dict) -> st.SearchStrategy:
    return st.fixed_dictionaries({}, optional=draw_params)


def _number_value(kind: str) -> st.SearchStrategy:
    if kind == "money":
        return st.one_of(
            st.sampled_from(["0.00", "10.00", "25.50", "35.50", "100.00", "-10.00"]),
            st.decimals(min_value=-500, max_value=4000, places=2).map(lambda d: f"{d:.2f}"),
        )
    return st.integers(0, 3)


def _comparison(field: str, kind: str, params: dict) -> st.SearchStrategy:
    single = st.tuples(st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]), _number_value(kind))
    between = st.tuples(
        st.just("between"),
        st.lists(_number_value(kind), min_size=2, max_size=2).map(
            lambda pair: sorted(pair, key=Decimal)
        ),
    )
    return st.tuples(st.one_of(single, between), _window(params)).map(
        lambda t: {"field": field, "op": t[0][0], "value": t[0][1], "params": t[1]}
    )


def _datetime(field: str, params: dict) -> st.SearchStrategy:
    days_ops = st.tuples(
        st.sampled_from(["within_last_days", "not_within_last_days"]),
        st.one_of(st.sampled_from(EDGE_DAYS[1:]), st.integers(1, 800)),
    )
    date_ops = st.tuples(
        st.sampled_from(["before", "on_or_after"]),
        days.map(lambda n: (date(2026, 12, 1) - timedelta(days=n)).isoformat()),
    )
    empty = st.tuples(st.sampled_from(["is_empty", "is_not_empty"]), st.none())
    return st.tuples(st.one_of(days_ops, date_ops, empty), _window(params)).map(
        lambda t: {"field": field, "op": t[0][0], "value": t[0][1], "params": t[1]}
    )


def _set(field: str, values: list, params: dict) -> st.SearchStrategy:
    chosen = st.tuples(
        st.sampled_from(["has_any", "has_all", "has_none"]),
        st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True),
    )
    empty = st.tuples(st.sampled_from(["is_empty", "is_not_empty"]), st.none())
    return st.tuples(st.one_of(chosen, empty), _window(params)).map(
        lambda t: {"field": field, "op": t[0][0], "value": t[0][1], "params": t[1]}
    )


def _choice(field: str, values: list) -> st.SearchStrategy:
    chosen = st.tuples(
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True),
    )
    empty = st.tuples(st.sampled_from(["is_empty", "is_not_empty"]), st.none())
    return st.one_of(chosen, empty).map(lambda t: {"field": field, "op": t[0], "value": t[1]})


def _text(field: str) -> st.SearchStrategy:
    compare = st.tuples(
        st.sampled_from(["eq", "ne", "contains", "not_contains"]),
        st.sampled_from(TEXTS + REGIONS[:-1]),
    )
    empty = st.tuples(st.sampled_from(["is_empty", "is_not_empty"]), st.none())
    return st.one_of(compare, empty).map(lambda t: {"field": field, "op": t[0], "value": t[1]})


def conditions(unit_ids: list[int], tag_ids: list[int]) -> st.SearchStrategy:
    days_param = {"days": st.one_of(st.sampled_from(EDGE_DAYS[1:]), st.integers(1, 800))}
    unit_param = {"unit": st.sampled_from(unit_ids)}
    return st.one_of(
        _choice("customer.kind", ["person", "organization"]),
        _choice("customer.gender", ["", "female", "male"]),
        _text("customer.region"),
        _text("customer.source"),
        _datetime("customer.created", {}),
        _set("customer.tags", tag_ids, {}),
        _set("customer.identities", IDENTITY_TYPES, {}),
        _set(
            "customer.consents",
            [f"{c}:{p}" for c in CHANNELS for p in PURPOSES],
            {},
        ),
        _set("purchases.units", unit_ids, days_param),
        _comparison("purchases.unit_count", "number", days_param),
        _comparison("purchases.count", "number", days_param | unit_param),
        _comparison("purchases.spend", "money", days_param | unit_param),
        _datetime("purchases.last", unit_param),
        _datetime("purchases.first", unit_param),
    ).map(_clean)


def _clean(node: dict) -> dict:
    return {k: v for k, v in node.items() if v not in (None, {})}


def rules(unit_ids: list[int], tag_ids: list[int]) -> st.SearchStrategy:
    return st.recursive(
        conditions(unit_ids, tag_ids),
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda c: {"all": c}),
            st.lists(children, min_size=1, max_size=3).map(lambda c: {"any": c}),
            children.map(lambda c: {"not": c}),
        ),
        max_leaves=6,
    )


@pytest.fixture
def world(unit_a, unit_b):
    category = TagCategory.objects.create(name="测试")
    tags = [Tag.objects.create(category=category, name=f"T{n}") for n in range(3)]
    return [unit_a.pk, unit_b.pk], [t.pk for t in tags]


def _store(data: list[dict], unit_ids: list[int], tag_ids: list[int]) -> list[int]:
    ids = []
    serial = 0
    for n, item in enumerate(data):
        customer = Customer.objects.create(
            kind=item["kind"],
            display_name=f"客户{n}",
            gender=item["gender"],
            region=item["region"],
            source=item["source"],
            created_at=NOW - timedelta(days=item["created"]),
        )
        ids.append(customer.pk)
        for tx in item["transactions"]:
            serial += 1
            amount = tx["amount"]
            Transaction.objects.create(
                business_unit_id=unit_ids[tx["unit"]],
                customer=customer,
                source="test",
                external_id=f"{customer.pk}-{serial}",
                channel="store",
                kind="cancellation" if tx["cancel"] else "purchase",
                status=tx["status"],
                amount=-amount if tx["cancel"] else amount,
                currency=tx["currency"],
                occurred_at=NOW - timedelta(days=tx["days"]),
            )
        CustomerTag.objects.bulk_create(
            CustomerTag(customer=customer, tag_id=tag_ids[t]) for t in item["tags"]
        )
        for m, (channel, purpose, granted, ago) in enumerate(item["consents"]):
            Consent.objects.create(
                customer=customer,
                channel=channel,
                purpose=purpose,
                granted=granted,
                occurred_at=NOW - timedelta(days=ago % 3),  # ties on the day: the id decides
                source="test",
            )
            del m
        for type_ in item["identities"]:
            Identity.objects.create(customer=customer, type=type_, value=f"{type_}-{customer.pk}")
    return ids


def _sql_ids(rule: dict) -> set[int]:
    sql, params = matching_ids_sql(rule, now=NOW)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def _check(population: list[dict], drawn: list[dict], unit_ids, tag_ids) -> None:
    """Store the population once, then compare every rule on it."""
    with transaction.atomic():
        ids = _store(population, unit_ids, tag_ids)
        for rule in drawn:
            normalized = validate_rule(rule, unit_ids=set(unit_ids))
            in_sql = _sql_ids(normalized) & set(ids)
            in_python = matching_ids_python(normalized, ids, now=NOW)
            assert in_sql == in_python, (normalized, population)
        transaction.set_rollback(True)


@pytest.mark.django_db
@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_sql_and_python_select_the_same_customers(world, data):
    unit_ids, tag_ids = world
    population = data.draw(customers, label="customers")
    drawn = data.draw(st.lists(rules(unit_ids, tag_ids), min_size=5, max_size=10), label="rules")
    _check(population, drawn, unit_ids, tag_ids)


@pytest.mark.django_db
@settings(
    max_examples=80,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_condition_alone_selects_the_same_customers(world, data):
    """Single conditions (no group to hide a difference behind): every operator's edges."""
    unit_ids, tag_ids = world
    population = data.draw(customers, label="customers")
    drawn = data.draw(
        st.lists(conditions(unit_ids, tag_ids), min_size=15, max_size=25), label="conditions"
    )
    _check(population, drawn, unit_ids, tag_ids)
