"""The rule language: the validator names the part that is wrong and why, values never enter
the SQL text, and the fields the apps register (members, accounts) evaluate alike in SQL
and in Python."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import translation

from crm.models import Customer, Transaction
from crm.rules import (
    RuleInvalid,
    compile_rule,
    matching_ids_python,
    matching_ids_sql,
    rule_field,
    validate_rule,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def errors_of(rule, **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(RuleInvalid) as caught:
        validate_rule(rule, **kwargs)
    return [(e.path, e.message) for e in caught.value.errors]


def test_an_unknown_field_is_named_with_its_path():
    errors = errors_of(
        {
            "all": [
                {"field": "customer.kind", "op": "in", "value": ["person"]},
                {"field": "customer.shoe_size", "op": "eq", "value": 42},
            ]
        }
    )
    assert errors == [("all[1].field", "Unknown field “customer.shoe_size”.")]


def test_an_operator_of_another_type_is_refused_with_the_ones_that_apply():
    [(path, message)] = errors_of({"field": "customer.kind", "op": "gt", "value": 3})
    assert path == "op"
    assert "“gt” does not apply to “Customer kind” (a choice)" in message
    assert "is one of" in message and "is none of" in message


def test_a_value_of_the_wrong_type_is_refused_where_it_is():
    errors = errors_of(
        {
            "any": [
                {"field": "purchases.count", "op": "gte", "value": "many"},
                {"not": {"field": "purchases.spend", "op": "between", "value": ["500", "100"]}},
                {"field": "purchases.last", "op": "before", "value": "2026-02-30"},
                {"field": "customer.kind", "op": "in", "value": ["robot"]},
                {"field": "purchases.spend", "op": "gt", "value": "1.005"},
            ]
        }
    )
    assert errors == [
        ("any[0].value", "Give a number."),
        ("any[1].not.value", "The first number must not be more than the second."),
        ("any[2].value", "Give a date as YYYY-MM-DD."),
        ("any[3].value[0]", "“robot” is not a value of “Customer kind”."),
        ("any[4].value", "An amount has at most two decimal places."),
    ]


def test_parameters_are_checked_per_field(unit_a):
    errors = errors_of(
        {
            "all": [
                {"field": "customer.kind", "op": "in", "value": ["person"], "params": {"days": 3}},
                {"field": "purchases.count", "op": "gte", "value": 1, "params": {"days": 0}},
                {"field": "purchases.count", "op": "gte", "value": 1, "params": {"unit": 999999}},
            ]
        }
    )
    assert errors == [
        ("all[0].params.days", "“Customer kind” takes no parameter “days”."),
        ("all[1].params.days", "Give a number of days from 1 to 36500."),
        ("all[2].params.unit", "Choose a business unit that exists."),
    ]


def test_groups_must_hold_conditions_and_a_rule_has_limits():
    assert errors_of({}) == [("rule", "Add at least one condition.")]
    assert errors_of({"all": []}) == [("all", "Add at least one condition to this group.")]
    assert (
        errors_of({"all": [{"field": "customer.region", "op": "eq", "value": "x"}], "any": []})[0][
            0
        ]
        == "rule"
    )
    assert errors_of({"field": "customer.region", "op": "is_empty", "value": "x"}) == [
        ("value", "“is empty” takes no value.")
    ]
    deep = {"field": "customer.region", "op": "is_empty"}
    for _ in range(7):
        deep = {"not": deep}
    assert "nest at most" in errors_of(deep)[0][1]
    many = {"all": [{"field": "customer.region", "op": "is_empty"}] * 51}
    assert errors_of(many)[-1][1] == "A rule has at most 50 conditions."


def test_the_errors_are_in_chinese_for_chinese_readers():
    with translation.override("zh-hans"):
        [(path, message)] = errors_of({"field": "customer.shoe_size", "op": "eq", "value": 1})
    assert path == "field"
    assert "customer.shoe_size" in message and "Unknown" not in message


def test_validation_normalizes_values():
    rule = validate_rule(
        {
            "all": [
                {"field": "purchases.spend", "op": "gte", "value": 1000},
                {"field": "purchases.count", "op": "between", "value": ["1", 3.0]},
                {"field": "customer.kind", "op": "in", "value": ["person", "person"]},
            ]
        }
    )
    assert rule["all"][0]["value"] == "1000.00"
    assert rule["all"][1]["value"] == [1, 3]
    assert rule["all"][2]["value"] == ["person"]


def test_user_values_travel_as_parameters_never_in_the_sql_text(unit_a):
    hostile = "'; DROP TABLE crm_customer; --"
    rule = {
        "all": [
            {"field": "customer.region", "op": "contains", "value": hostile},
            {"field": "customer.region", "op": "eq", "value": "上海"},
            {
                "field": "purchases.spend",
                "op": "gte",
                "value": "123.45",
                "params": {"days": 90, "unit": unit_a.pk},
            },
        ]
    }
    sql, params = compile_rule(rule, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert hostile not in sql and "上海" not in sql and "123.45" not in sql
    assert hostile in params and "上海" in params
    assert sql.count("%s") == len(params)
    Customer.objects.create(display_name="甲", region=hostile)
    select, select_params = matching_ids_sql(rule)
    with connection.cursor() as cursor:
        cursor.execute(select, select_params)
        assert cursor.fetchall() == []
    assert Customer.objects.count() == 1  # the table is still there


def test_purchases_follow_the_one_definition_and_net_spend_counts_cancellations(unit_a, unit_b):
    now = datetime(2026, 12, 1, tzinfo=UTC)
    buyer = Customer.objects.create(display_name="买家")
    refunded_only = Customer.objects.create(display_name="全退")
    rows = [
        (buyer, unit_a, "purchase", "completed", "300.00", 10),
        (buyer, unit_a, "cancellation", "completed", "-100.00", 5),
        (buyer, unit_b, "purchase", "completed", "0.00", 3),  # zero: not a purchase
        (refunded_only, unit_b, "purchase", "refunded", "500.00", 20),
    ]
    for n, (customer, unit, kind, status, amount, days) in enumerate(rows):
        Transaction.objects.create(
            business_unit=unit,
            customer=customer,
            source="t",
            external_id=str(n),
            channel="store",
            kind=kind,
            status=status,
            amount=amount,
            occurred_at=now - timedelta(days=days),
        )
    ids = [buyer.pk, refunded_only.pk]

    def both(rule):
        sql, params = matching_ids_sql(rule, now=now)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            in_sql = {row[0] for row in cursor.fetchall()}
        assert in_sql == matching_ids_python(rule, ids, now=now)
        return in_sql

    assert both({"field": "purchases.count", "op": "eq", "value": 1}) == {buyer.pk}
    assert both({"field": "purchases.spend", "op": "eq", "value": "200.00"}) == {buyer.pk}
    assert both({"field": "purchases.spend", "op": "eq", "value": "500.00"}) == {refunded_only.pk}
    assert both({"field": "purchases.last", "op": "is_empty"}) == {refunded_only.pk}
    assert both(
        {
            "all": [
                {
                    "field": "purchases.units",
                    "op": "has_any",
                    "value": [unit_a.pk],
                    "params": {"days": 30},
                },
                {"field": "purchases.units", "op": "has_none", "value": [unit_b.pk]},
            ]
        }
    ) == {buyer.pk}


def test_the_apps_register_their_fields_and_they_evaluate_alike(unit_a):
    from accounts.models import Account, Contact, ContactRole, CreditProfile
    from members.models import Level, Member

    for key in (
        "member.level",
        "member.points",
        "account.industry",
        "account.size_band",
        "account.credit_rating",
        "account.has_decision_maker",
        "contact.roles",
    ):
        assert rule_field(key) is not None, key
    person = Customer.objects.create(display_name="会员")
    company = Customer.objects.create(display_name="公司", kind="organization")
    level = Level.objects.order_by("rank").last()
    Member.objects.create(
        customer=person,
        number="8000000001",
        enrolled_business_unit=unit_a,
        channel="store",
        level=level,
        points_balance=1500,
    )
    account = Account.objects.create(customer=company, industry="C", size_band="large")
    CreditProfile.objects.create(
        account=account, rating="AA", score=80, credit_limit=1000, next_review_on="2027-01-01"
    )
    contact = Contact.objects.create(account=account, person=person)
    contact.roles.add(ContactRole.objects.get(code="decision_maker"))
    ids = [person.pk, company.pk]
    cases = [
        ({"field": "member.points", "op": "gte", "value": 1000}, {person.pk}),
        ({"field": "member.level", "op": "in", "value": [level.pk]}, {person.pk}),
        ({"field": "member.status", "op": "is_empty"}, {company.pk}),
        ({"field": "account.industry", "op": "in", "value": ["C"]}, {company.pk}),
        ({"field": "account.size_band", "op": "not_in", "value": ["micro"]}, {company.pk}),
        ({"field": "account.credit_rating", "op": "in", "value": ["AAA", "AA"]}, {company.pk}),
        ({"field": "account.has_decision_maker", "op": "is_true"}, {company.pk}),
        ({"field": "account.has_decision_maker", "op": "is_false"}, {person.pk}),
        ({"field": "contact.roles", "op": "has_any", "value": ["decision_maker"]}, {person.pk}),
    ]
    for rule, expected in cases:
        sql, params = matching_ids_sql(rule)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            assert {row[0] for row in cursor.fetchall()} == expected, rule
        assert matching_ids_python(rule, ids) == expected, rule


def test_the_metrics_are_rule_fields_and_evaluate_alike():
    """Segments target the metrics' one row per customer; a customer never recomputed has no
    value (only "is empty" matches it)."""
    from datetime import date
    from decimal import Decimal

    from crm.models import CustomerMetrics

    loyal = Customer.objects.create(display_name="忠诚")
    fading = Customer.objects.create(display_name="流失")
    never = Customer.objects.create(display_name="无指标")
    common = {"as_of": date(2026, 12, 1), "frequency": 3}
    CustomerMetrics.objects.create(
        customer=loyal,
        recency_days=5,
        rfm_segment="champions",
        lifecycle_stage="active",
        churn_risk=False,
        lifetime_value=Decimal("12000.00"),
        **common,
    )
    CustomerMetrics.objects.create(
        customer=fading,
        recency_days=200,
        rfm_segment="at_risk",
        lifecycle_stage="at_risk",
        churn_risk=True,
        lifetime_value=Decimal("800.00"),
        **common,
    )
    ids = [loyal.pk, fading.pk, never.pk]
    cases = [
        ({"field": "metrics.lifecycle_stage", "op": "in", "value": ["at_risk"]}, {fading.pk}),
        ({"field": "metrics.rfm_segment", "op": "not_in", "value": ["at_risk"]}, {loyal.pk}),
        ({"field": "metrics.churn_risk", "op": "is_true"}, {fading.pk}),
        ({"field": "metrics.recency_days", "op": "gte", "value": 90}, {fading.pk}),
        ({"field": "metrics.lifetime_value", "op": "gt", "value": "10000"}, {loyal.pk}),
        ({"field": "metrics.lifecycle_stage", "op": "is_empty"}, {never.pk}),
    ]
    for rule, expected in cases:
        assert validate_rule(rule) is not None
        sql, params = matching_ids_sql(rule)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            assert {row[0] for row in cursor.fetchall()} & set(ids) == expected, rule
        assert matching_ids_python(rule, ids) == expected, rule
