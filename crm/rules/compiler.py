"""Rules compiled to SQL: one boolean expression over the customer row ``c``, with every
value a user gave passed as a query parameter (``%s``), never written into the text.

Every condition is ``… IS TRUE`` (or an ``EXISTS``), so it is never NULL: a ``not`` group
is then exactly the complement of its node, as in the Python evaluator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date

from crm.rules.fields import (
    BOOL,
    CHOICE,
    DATETIME,
    MONEY,
    NUMBER,
    SET,
    TEXT,
    Params,
    RuleField,
    Sql,
    rule_field,
)
from crm.rules.language import validate_rule
from crm.rules.metrics_fields import UNIT_TABLE

_COMPARISONS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def day_start(value: str) -> datetime:
    """The first instant of a ``YYYY-MM-DD`` day in the group's time zone (the default one,
    whoever evaluates the rule)."""
    day = parse_date(value)
    assert day is not None  # validated
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def typed(spec: RuleField, value: Any) -> Any:
    """A value of the rule as the field's SQL type wants it."""
    kind = spec.param_type
    if kind == "bigint":
        return int(value)
    if kind == "numeric":
        return Decimal(str(value))
    return str(value)


def condition_params(node: dict[str, Any], now: datetime, month: date | None = None) -> Params:
    params = node.get("params") or {}
    return Params(now=now, days=params.get("days"), unit=params.get("unit"), month=month)


_SET_SQL = re.compile(r"^\s*SELECT\s+(?P<element>.+?)\s+FROM\s+(?P<rest>.+)$", re.S | re.I)


def _set_parts(sql: str) -> tuple[str, str]:
    """A set field's ``SELECT <element> FROM … WHERE …`` (its documented shape: the last
    clause a top-level ``WHERE``) as its element and what follows ``FROM``."""
    found = _SET_SQL.match(sql)
    if found is None or " where " not in found["rest"].lower():
        raise ValueError(f"a set field's SQL is SELECT <element> FROM … WHERE …: {sql!r}")  # noqa: S608
    return found["element"], found["rest"]


def _condition(node: dict[str, Any], now: datetime, month: date | None, out: list[Any]) -> str:
    spec = rule_field(node["field"])
    assert spec is not None  # validated
    expr, expr_params = spec.sql(condition_params(node, now, month))
    op = node["op"]
    value: Any = node.get("value")
    cast = spec.param_type
    if spec.type == SET:
        out.extend(expr_params)
        if op == "is_empty":
            return f"NOT EXISTS ({expr})"
        if op == "is_not_empty":
            return f"EXISTS ({expr})"
        values = [typed(spec, v) for v in value]
        out.append(values)
        element, rest = _set_parts(expr)
        # Flat (``EXISTS (SELECT 1 FROM … WHERE … AND element = ANY(…))``): PostgreSQL turns it
        # into a semi or anti join driven by the best index, which it cannot do through a
        # derived table (1.6 times slower at 100,000 customers).
        match = f"FROM {rest} AND ({element}) = ANY(%s::{cast}[])"
        if op == "has_any":
            return f"EXISTS (SELECT 1 {match})"
        if op == "has_none":
            return f"NOT EXISTS (SELECT 1 {match})"
        out.append(len(set(values)))  # has_all
        return f"((SELECT count(DISTINCT ({element})) {match}) = %s)"
    if spec.row is not None:
        return _row_condition(spec, node, now, month, out)
    out.extend(expr_params)
    return _scalar_condition(spec, expr, node, now, out)


def _row_condition(
    spec: RuleField, node: dict[str, Any], now: datetime, month: date | None, out: list[Any]
) -> str:
    """A condition on a column of the customer's row (at most one): true when the row exists
    and its column meets it; "is empty" when there is no row or the column is empty."""
    assert spec.row is not None
    source, column, source_params = spec.row(condition_params(node, now, month))
    out.extend(source_params)
    op = node["op"]
    if op in ("is_empty", "is_not_empty"):
        filled = _scalar_condition(spec, column, {**node, "op": "is_not_empty"}, now, out)
        found = f"EXISTS (SELECT 1 {source} AND {filled})"
        return found if op == "is_not_empty" else f"(NOT {found})"
    condition = _scalar_condition(spec, column, node, now, out, where=True)
    return f"EXISTS (SELECT 1 {source} AND {condition})"


def _scalar_condition(
    spec: RuleField,
    expr: str,
    node: dict[str, Any],
    now: datetime,
    out: list[Any],
    *,
    where: bool = False,
) -> str:
    """The condition on the value ``expr``, ``… IS TRUE`` so that it is never NULL; in a
    ``WHERE`` (``where=True``: inside an ``EXISTS``, where NULL already excludes the row) the
    bare comparison, which the planner can estimate and match to an index."""

    def true(condition: str) -> str:
        return f"({condition})" if where else f"(({condition}) IS TRUE)"

    op = node["op"]
    value: Any = node.get("value")
    cast = spec.param_type
    if op in ("is_empty", "is_not_empty"):
        empty = (
            f"(COALESCE(({expr})::text, '') = '')"
            if spec.type in (TEXT, CHOICE)
            else f"(({expr}) IS NULL)"
        )
        return empty if op == "is_empty" else f"(NOT {empty})"
    if spec.type == BOOL:
        return f"(({expr}) IS TRUE)" if op == "is_true" else f"(({expr}) IS FALSE)"
    if op in _COMPARISONS:
        out.append(typed(spec, value))
        return true(f"({expr}) {_COMPARISONS[op]} %s::{cast}")
    if op == "between":
        out.extend([typed(spec, value[0]), typed(spec, value[1])])
        return true(f"({expr}) BETWEEN %s::{cast} AND %s::{cast}")
    if op in ("contains", "not_contains"):
        out.append(str(value))
        found = "> 0" if op == "contains" else "= 0"
        return true(f"strpos(lower({expr}), lower(%s::text)) {found}")
    if op == "in":
        out.append([typed(spec, v) for v in value])
        return true(f"({expr}) = ANY(%s::{cast}[])")
    if op == "not_in":
        out.append([typed(spec, v) for v in value])
        return true(f"({expr}) <> ALL(%s::{cast}[])")
    assert spec.type == DATETIME, op
    if op in ("within_last_days", "not_within_last_days"):
        params = Params(now=now, days=int(value))
        out.append(params.since)
        sign = ">=" if op == "within_last_days" else "<"
    else:
        out.append(day_start(value))
        sign = "<" if op == "before" else ">="
    return true(f"({expr}) {sign} %s::timestamptz")


# --- Conditions folded into a business unit's metrics row -----------------------------------
#
# A per-unit metrics row (crm_customerunitmetrics) carries copies of what segments most often
# combine with a unit's figures (crm/METRICS.md, "Segment facts in the per-unit rows"): the
# customer's kind and mobile phones (kept exact by the database), the group's net spend and the
# units the customer has rows of (written by the same recompute). In an "all" group with a
# condition that needs the customer's row of a unit (the anchor: "active in unit A"), the
# conditions those copies answer are tested inside the anchor's EXISTS, on the same row, instead
# of as separate joins: for every customer that has the row they are the same test, and the
# group is false for every customer that has not. A count then starts from the unit's stage
# (unit_metrics_unit_stage, the rows stored in that order) and reads nothing else but the
# customer's row. Never as of a past month (the snapshot has no per-unit rows).

# Unit fields whose column is never empty in a row: "is empty in unit B" is "no row in B".
_NEVER_EMPTY_UNIT_FIELDS = frozenset(
    {"metrics.frequency", "metrics.monetary", "metrics.lifecycle_stage", "metrics.rfm_segment"}
)
_MOBILE_ONLY = frozenset({"mobile"})


def _unit_row(
    node: dict[str, Any], now: datetime, *, anchor: bool = True
) -> tuple[str, str, list[Any]] | None:
    """The row source, column and parameters of a condition on a column of one business
    unit's row; with ``anchor``, only when the condition holds for none of the customers
    without that row."""
    if "field" not in node or (anchor and node["op"] == "is_empty"):
        return None
    spec = rule_field(node["field"])
    if spec is None or spec.row is None or (node.get("params") or {}).get("unit") is None:
        return None
    source, column, params = spec.row(condition_params(node, now))
    if not source.startswith(f"FROM {UNIT_TABLE} x "):
        return None
    return source, column, params


def _folded(node: dict[str, Any], now: datetime, anchor_unit: Any) -> Sql | None:
    """``node`` as a test of the anchor's row ``x``, if the row's copies answer it exactly."""
    if "field" not in node:
        return None
    key, op = node["field"], node["op"]
    unit = (node.get("params") or {}).get("unit")
    spec = rule_field(key)
    assert spec is not None  # validated
    out: list[Any] = []
    if unit is not None and str(unit) == str(anchor_unit):
        # Another column of the same row (one row per customer and unit): "is empty" is then
        # the column's emptiness, the row being there.
        same = _unit_row(node, now, anchor=False)
        if same is not None:
            return _scalar_condition(spec, same[1], node, now, out, where=True), out
    if key == "customer.kind":
        return _scalar_condition(spec, "x.customer_kind", node, now, out, where=True), out
    if key == "metrics.monetary" and unit is None:
        return _scalar_condition(spec, "x.customer_monetary", node, now, out, where=True), out
    if key == "customer.identities" and set(node.get("value") or ()) == _MOBILE_ONLY:
        if op in ("has_any", "has_all"):
            return "(x.customer_mobiles > 0)", []
        if op == "has_none":
            return "(x.customer_mobiles = 0)", []
    if key in _NEVER_EMPTY_UNIT_FIELDS and unit is not None and op in ("is_empty", "is_not_empty"):
        found = "(%s::bigint = ANY(x.customer_units))"
        return (found if op == "is_not_empty" else f"(NOT {found})"), [int(unit)]
    return None


def _all_parts(children: list[dict[str, Any]], now: datetime, month: date | None) -> list[Sql]:
    """Each child of an "all" group as ``(sql, params)``, in order, with the conditions an
    anchor's row answers folded into it (see above)."""
    anchor, row = None, None
    if month is None:
        for index, child in enumerate(children):
            if (row := _unit_row(child, now)) is not None:
                anchor = index
                break
    folded: dict[int, Sql] = {}
    if anchor is not None:
        anchor_unit = children[anchor]["params"]["unit"]
        for index, child in enumerate(children):
            found = None if index == anchor else _folded(child, now, anchor_unit)
            if found is not None:
                folded[index] = found
    parts: list[Sql] = []
    for index, child in enumerate(children):
        if index in folded:
            continue
        if index == anchor and folded and row is not None:
            source, column, params = row
            params = list(params)
            spec = rule_field(child["field"])
            assert spec is not None
            tests = [_scalar_condition(spec, column, child, now, params, where=True)]
            for sql, extra in folded.values():
                tests.append(sql)
                params.extend(extra)
            parts.append((f"EXISTS (SELECT 1 {source} AND {' AND '.join(tests)})", params))
            continue
        params = []
        parts.append((_node(child, now, month, params), params))
    return parts


def _node(node: dict[str, Any], now: datetime, month: date | None, out: list[Any]) -> str:
    if "all" in node:
        parts = _all_parts(node["all"], now, month)
        for _sql, params in parts:
            out.extend(params)
        return "(" + " AND ".join(sql for sql, _params in parts) + ")"
    if "any" in node:
        return "(" + " OR ".join(_node(child, now, month, out) for child in node["any"]) + ")"
    if "not" in node:
        return f"(NOT {_node(node['not'], now, month, out)})"
    return _condition(node, now, month, out)


@dataclass(frozen=True)
class PastMonth:
    """Evaluating as of a past month: ``month``, the month of the metrics snapshot read
    (``crm_metricssnapshot.month``, its first day), and ``at``, the end of that snapshot's
    reference date (normally the month's last day): the instant the rule is evaluated at."""

    month: date
    at: datetime


def compile_rule(
    rule: Any,
    *,
    now: datetime | None = None,
    validated: bool = False,
    past: PastMonth | None = None,
) -> tuple[str, list[Any]]:
    """``(sql, params)``: a boolean expression over the customer ``c`` (validated first,
    unless the caller just did). ``past``: as of that month (``now`` is then ``past.at``);
    a field without history is refused (:class:`RuleInvalid`, naming it)."""
    normalized = rule if validated else validate_rule(rule, past=past is not None)
    params: list[Any] = []
    if past is not None:
        sql = _node(normalized, past.at, past.month, params)
    else:
        sql = _node(normalized, now or timezone.now(), None, params)
    return sql, params


# As of a past month, the customers then: those the month's snapshot has a row of (every live
# customer when it was taken; one merged since still has its row there) and that were added
# before its reference date ended (a back-filled snapshot has rows of customers added later).
_PAST_CUSTOMERS = (
    "SELECT c.id FROM crm_customer c "
    "JOIN crm_metricssnapshot s ON s.customer_id = c.id AND s.month = %s "
    "WHERE c.created_at < %s AND "
)


def matching_ids_sql(
    rule: Any,
    *,
    now: datetime | None = None,
    validated: bool = False,
    past: PastMonth | None = None,
) -> tuple[str, list[Any]]:
    """``SELECT c.id`` of the live customers (not merge tombstones) the rule matches; with
    ``past``, of the customers as they were then (a customer merged since is its own id)."""
    where, params = compile_rule(rule, now=now, validated=validated, past=past)
    if past is not None:
        return _PAST_CUSTOMERS + where, [past.month, past.at, *params]
    return (
        f"SELECT c.id FROM crm_customer c WHERE c.merged_into_id IS NULL AND {where}",  # noqa: S608
        params,
    )


__all__ = ["MONEY", "NUMBER", "PastMonth", "compile_rule", "day_start", "matching_ids_sql"]
