"""Rules evaluated in Python, one customer at a time, from raw facts (``load_facts``): the
reference the SQL compiler is tested against (``tests/crm/test_rules_sql_equals_python.py``)
and the answer to "why does this customer match?" for one customer."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from crm.rules.compiler import condition_params, day_start
from crm.rules.fields import (
    BOOL,
    CHOICE,
    DATETIME,
    MONEY,
    NUMBER,
    SET,
    TEXT,
    Facts,
    TxFact,
    rule_field,
    rule_fields,
)
from crm.rules.language import rule_fields_used, validate_rule


def _number(value: Any) -> Decimal:
    return Decimal(str(value))


def _condition(node: dict[str, Any], facts: Facts, now: datetime) -> bool:
    spec = rule_field(node["field"])
    assert spec is not None
    value = spec.value(facts, condition_params(node, now))
    op = node["op"]
    given: Any = node.get("value")
    if spec.type == SET:
        elements = {str(v) for v in value or ()}
        wanted = {str(v) for v in given or ()}
        if op == "is_empty":
            return not elements
        if op == "is_not_empty":
            return bool(elements)
        if op == "has_any":
            return bool(elements & wanted)
        if op == "has_none":
            return not elements & wanted
        return wanted <= elements  # has_all
    if op in ("is_empty", "is_not_empty"):
        empty = value is None or (spec.type in (TEXT, CHOICE) and str(value) == "")
        return empty if op == "is_empty" else not empty
    if spec.type == BOOL:
        return value is True if op == "is_true" else value is False
    if value is None:
        return False
    if spec.type in (NUMBER, MONEY):
        number = _number(value)
        if op == "between":
            return _number(given[0]) <= number <= _number(given[1])
        other = _number(given)
        return {
            "eq": number == other,
            "ne": number != other,
            "gt": number > other,
            "gte": number >= other,
            "lt": number < other,
            "lte": number <= other,
        }[op]
    if spec.type == TEXT:
        text = str(value)
        return {
            "eq": text == given,
            "ne": text != given,
            "contains": given.lower() in text.lower(),
            "not_contains": given.lower() not in text.lower(),
        }[op]
    if spec.type == CHOICE:
        inside = str(value) in {str(v) for v in given}
        return inside if op == "in" else not inside
    assert spec.type == DATETIME
    if op in ("within_last_days", "not_within_last_days"):
        since = condition_params({"params": {"days": int(given)}}, now).since
        assert since is not None
        return value >= since if op == "within_last_days" else value < since
    start = day_start(given)
    return value < start if op == "before" else value >= start


def _node(node: dict[str, Any], facts: Facts, now: datetime) -> bool:
    if "all" in node:
        return all(_node(child, facts, now) for child in node["all"])
    if "any" in node:
        return any(_node(child, facts, now) for child in node["any"])
    if "not" in node:
        return not _node(node["not"], facts, now)
    return _condition(node, facts, now)


def evaluate_rule(
    rule: Any, facts: Facts, *, now: datetime | None = None, validated: bool = False
) -> bool:
    normalized = rule if validated else validate_rule(rule)
    return _node(normalized, facts, now or timezone.now())


def load_facts(customer_ids: list[int], *, fields: set[str] | None = None) -> dict[int, Facts]:
    """The raw facts of these customers (a handful of plain queries, no aggregate), with the
    values of the app fields among ``fields`` (every registered one when ``None``)."""
    from crm.models import (
        BlacklistEntry,
        Consent,
        Customer,
        CustomerTag,
        Identity,
        Transaction,
    )
    from crm.models.blacklist import BINDING_STATUSES

    ids = sorted(set(customer_ids))
    facts = {
        row["id"]: Facts(**row)
        for row in Customer.objects.filter(pk__in=ids).values(
            "id", "kind", "gender", "region", "source", "created_at"
        )
    }
    transactions: dict[int, list[TxFact]] = defaultdict(list)
    for row in Transaction.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "business_unit_id", "kind", "status", "amount", "currency", "occurred_at"
    ):
        transactions[row[0]].append(TxFact(*row[1:]))
    tags: dict[int, set[int]] = defaultdict(set)
    for customer_id, tag_id in CustomerTag.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "tag_id"
    ):
        tags[customer_id].add(tag_id)
    consents: dict[int, list[Any]] = defaultdict(list)
    for consent in Consent.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "channel", "purpose", "granted", "occurred_at", "id"
    ):
        consents[consent[0]].append(tuple(consent[1:]))
    identities: dict[int, set[str]] = defaultdict(set)
    for customer_id, type_ in Identity.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "type"
    ):
        identities[customer_id].add(type_)
    blacklisted = set(
        BlacklistEntry.objects.filter(customer_id__in=ids, status__in=BINDING_STATUSES).values_list(
            "customer_id", flat=True
        )
    )
    for customer_id, item in facts.items():
        item.transactions = transactions[customer_id]
        item.tag_ids = frozenset(tags[customer_id])
        item.consents = consents[customer_id]
        item.identity_types = frozenset(identities[customer_id])
        item.blacklisted = customer_id in blacklisted
    for spec in rule_fields():
        if spec.load is None or (fields is not None and spec.key not in fields):
            continue
        values = spec.load(ids)
        for customer_id, item in facts.items():
            item.extra[spec.key] = values.get(customer_id)
    return facts


def matching_ids_python(
    rule: Any, customer_ids: list[int], *, now: datetime | None = None
) -> set[int]:
    """The customers among ``customer_ids`` the rule matches, evaluated in Python."""
    from crm.models import Customer

    normalized = validate_rule(rule)
    live = list(
        Customer.objects.filter(pk__in=customer_ids, merged_into__isnull=True).values_list(
            "pk", flat=True
        )
    )
    facts = load_facts(live, fields=rule_fields_used(normalized))
    moment = now or timezone.now()
    return {pk for pk, item in facts.items() if _node(normalized, item, moment)}


__all__ = ["evaluate_rule", "load_facts", "matching_ids_python"]
