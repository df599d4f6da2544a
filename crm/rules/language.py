"""The rule language: a JSON tree of groups and conditions, and its validator.

A rule is a group or a condition::

    {"all": [node, ...]}     every node holds          (AND)
    {"any": [node, ...]}     at least one node holds   (OR)
    {"not": node}            the node does not hold
    {"field": "purchases.spend", "op": "gte", "value": "1000", "params": {"days": 90}}

``field`` names a registered field (``crm.rules.fields``), ``op`` one of the operators of
its type (``OPERATORS``), ``value`` what the operator compares with (absent for
``is_empty``, ``is_true``…), ``params`` the field's parameters (a window of ``days``
before the reference time, a business ``unit``) when it takes any.

Missing values: a customer without a value (no purchase yet, not a member) matches no
comparison, neither ``in`` nor ``not_in``; only ``is_empty`` finds it. A ``not`` group
matches exactly the customers its node does not match.

:func:`validate_rule` checks a rule whole and returns it normalized (values in their
canonical JSON form); every problem is reported with its ``path`` (``all[1].any[0].value``)
and a reason a person can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.rules.fields import (
    CHOICE,
    MAX_DAYS,
    MONEY,
    NUMBER,
    PARAM_DAYS,
    PARAM_UNIT,
    SET,
    TEXT,
    RuleField,
    rule_field,
)
from crm.rules.operators import NO_VALUE, OPERATOR_LABELS, OPERATORS, PARAM_LABELS, TYPE_LABELS

MAX_CONDITIONS = 50
MAX_DEPTH = 6
MAX_VALUES = 200
MAX_TEXT = 200
MAX_NUMBER = 10**12


@dataclass(frozen=True)
class RuleError:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class RuleInvalid(DomainError):
    """A rule that cannot run; ``errors`` lists each problem with its path."""

    code = "rule_invalid"
    status = 400

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        first = errors[0]
        text = f"{first.path}: {first.message}" if first.path else first.message
        super().__init__(text, field="rule")


def _join(path: str, part: str) -> str:
    if part.startswith("["):
        return f"{path}{part}"
    return f"{path}.{part}" if path else part


class _Validator:
    def __init__(self, unit_ids: set[int] | None, *, past: bool = False) -> None:
        self.errors: list[RuleError] = []
        self.conditions = 0
        self.unit_ids = unit_ids
        self.past = past

    def fail(self, path: str, message: str) -> None:
        self.errors.append(RuleError(path or "rule", message))

    def node(self, node: Any, path: str, depth: int) -> Any:
        if not isinstance(node, dict):
            self.fail(path, _("Expected a group (all, any, not) or a condition."))
            return None
        if depth > MAX_DEPTH:
            self.fail(path, _("Groups nest at most %(max)d deep.") % {"max": MAX_DEPTH})
            return None
        groups = [k for k in ("all", "any", "not") if k in node]
        if groups:
            if len(node) != 1:
                self.fail(
                    path,
                    _("A group has exactly one of “all”, “any” or “not”, and nothing else."),
                )
                return None
            key = groups[0]
            inner = node[key]
            if key == "not":
                return {"not": self.node(inner, _join(path, "not"), depth + 1)}
            if not isinstance(inner, list) or not inner:
                self.fail(_join(path, key), _("Add at least one condition to this group."))
                return None
            return {
                key: [
                    self.node(child, _join(path, f"{key}[{n}]"), depth + 1)
                    for n, child in enumerate(inner)
                ]
            }
        return self.condition(node, path)

    def condition(self, node: dict[str, Any], path: str) -> Any:
        self.conditions += 1
        if self.conditions == MAX_CONDITIONS + 1:
            self.fail(path, _("A rule has at most %(max)d conditions.") % {"max": MAX_CONDITIONS})
        extra = set(node) - {"field", "op", "value", "params"}
        if extra:
            self.fail(
                path,
                _("Unknown part of a condition: %(keys)s.") % {"keys": ", ".join(sorted(extra))},
            )
        key = node.get("field")
        spec = rule_field(key) if isinstance(key, str) else None
        if spec is None:
            self.fail(
                _join(path, "field"),
                _("Unknown field “%(field)s”.") % {"field": key} if key else _("Choose a field."),
            )
            return None
        op = node.get("op")
        allowed = OPERATORS[spec.type]
        if op not in allowed:
            self.fail(
                _join(path, "op"),
                _("“%(op)s” does not apply to “%(field)s” (%(type)s); use one of: %(ops)s.")
                % {
                    "op": op or "",
                    "field": spec.label,
                    "type": TYPE_LABELS[spec.type],
                    "ops": ", ".join(str(OPERATOR_LABELS[o]) for o in allowed),
                },
            )
            return None
        out: dict[str, Any] = {"field": spec.key, "op": op}
        params = self.params(spec, node.get("params"), _join(path, "params"))
        if params:
            out["params"] = params
        if self.past:
            self.history(spec, params, path)
        if op in NO_VALUE:
            if node.get("value") not in (None, "", []):
                self.fail(
                    _join(path, "value"),
                    _("“%(op)s” takes no value.") % {"op": OPERATOR_LABELS[op]},
                )
            return out
        out["value"] = self.value(spec, op, node.get("value"), _join(path, "value"))
        return out

    def history(self, spec: RuleField, params: dict[str, int], path: str) -> None:
        """As of a past month: refuse a field (or a parameter of it) without history."""
        if not spec.past:
            self.fail(
                _join(path, "field"),
                _("“%(field)s” has no history: it cannot be evaluated as of a past month.")
                % {"field": spec.label},
            )
            return
        for name in params:
            if name not in spec.past_params:
                self.fail(
                    _join(_join(path, "params"), name),
                    _(
                        "“%(field)s” with the parameter “%(name)s” has no history: it cannot "
                        "be evaluated as of a past month."
                    )
                    % {"field": spec.label, "name": PARAM_LABELS.get(name, name)},
                )

    def params(self, spec: RuleField, params: Any, path: str) -> dict[str, int]:
        if params in (None, {}):
            return {}
        if not isinstance(params, dict):
            self.fail(path, _("Parameters are a set of named values."))
            return {}
        out: dict[str, int] = {}
        for name, raw in params.items():
            if name not in spec.params:
                self.fail(
                    _join(path, str(name)),
                    _("“%(field)s” takes no parameter “%(name)s”.")
                    % {"field": spec.label, "name": name},
                )
                continue
            if raw in (None, ""):
                continue
            number = _integer(raw)
            if name == PARAM_DAYS:
                if number is None or not 1 <= number <= MAX_DAYS:
                    self.fail(
                        _join(path, name),
                        _("Give a number of days from 1 to %(max)d.") % {"max": MAX_DAYS},
                    )
                    continue
            elif name == PARAM_UNIT and (
                number is None or (self.unit_ids is not None and number not in self.unit_ids)
            ):
                self.fail(_join(path, name), _("Choose a business unit that exists."))
                continue
            out[name] = number  # type: ignore[assignment]
        return out

    def value(self, spec: RuleField, op: str, value: Any, path: str) -> Any:
        if spec.type in (NUMBER, MONEY):
            if op == "between":
                if not isinstance(value, list) or len(value) != 2:
                    self.fail(path, _("Give two numbers: from and to."))
                    return None
                low = self.number(spec, value[0], f"{path}[0]")
                high = self.number(spec, value[1], f"{path}[1]")
                if low is not None and high is not None and Decimal(low) > Decimal(high):
                    self.fail(path, _("The first number must not be more than the second."))
                return [low, high]
            return self.number(spec, value, path)
        if spec.type == TEXT:
            if not isinstance(value, str) or not value.strip():
                self.fail(path, _("Give a text."))
                return None
            if len(value) > MAX_TEXT:
                self.fail(path, _("At most %(max)d characters.") % {"max": MAX_TEXT})
            return value.strip()
        if spec.type in (CHOICE, SET):
            return self.choices(spec, value, path)
        # DATETIME
        if op in ("within_last_days", "not_within_last_days"):
            number = _integer(value)
            if number is None or not 1 <= number <= MAX_DAYS:
                self.fail(path, _("Give a number of days from 1 to %(max)d.") % {"max": MAX_DAYS})
            return number
        day = _date(value)
        if day is None:
            self.fail(path, _("Give a date as YYYY-MM-DD."))
            return None
        return day.isoformat()

    def number(self, spec: RuleField, value: Any, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            self.fail(path, _("Give a number."))
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(path, _("Give a number."))
            return None
        if not number.is_finite() or abs(number) >= MAX_NUMBER:
            self.fail(path, _("Give a number."))
            return None
        if spec.type == NUMBER:
            if number != number.to_integral_value():
                self.fail(path, _("Give a whole number."))
                return None
            return int(number)
        if number.as_tuple().exponent < -2:  # type: ignore[operator]
            self.fail(path, _("An amount has at most two decimal places."))
            return None
        return f"{number.quantize(Decimal('0.01')):f}"

    def choices(self, spec: RuleField, value: Any, path: str) -> Any:
        if not isinstance(value, list) or not value:
            self.fail(path, _("Choose at least one value."))
            return None
        if len(value) > MAX_VALUES:
            self.fail(path, _("Choose at most %(max)d values.") % {"max": MAX_VALUES})
            return None
        known = {str(v): v for v, _label in (spec.choices() if spec.choices else [])}
        out = []
        for n, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, str | int):
                self.fail(f"{path}[{n}]", _("Choose one of the listed values."))
                continue
            if spec.choices is not None and str(item) not in known:
                self.fail(
                    f"{path}[{n}]",
                    _("“%(value)s” is not a value of “%(field)s”.")
                    % {"value": item, "field": spec.label},
                )
                continue
            chosen = known.get(str(item), item)
            if chosen not in out:
                out.append(chosen)
        return out


def _date(value: Any) -> Any:
    if not isinstance(value, str):
        return None
    try:
        return parse_date(value.strip())
    except ValueError:  # well formed, not a date (2026-02-30)
        return None


_INTEGER = re.compile(r"^-?\d{1,12}$")


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value.strip())
    return None


def validate_rule(
    rule: Any, *, unit_ids: set[int] | None = None, past: bool = False
) -> dict[str, Any]:
    """The rule normalized, or :class:`RuleInvalid` listing every problem with its path.
    ``unit_ids``: the business units a ``unit`` parameter may name (``None``: read them).
    ``past``: the rule is to be evaluated as of a past month; every field (and parameter)
    without history is refused, naming it (``RuleField.past``)."""
    if unit_ids is None:
        from crm.models import BusinessUnit

        unit_ids = set(BusinessUnit.objects.values_list("pk", flat=True))
    validator = _Validator(unit_ids, past=past)
    if rule in (None, {}, []):
        raise RuleInvalid([RuleError("rule", _("Add at least one condition."))])
    normalized = validator.node(rule, "", 1)
    if validator.errors:
        raise RuleInvalid(validator.errors)
    return normalized  # type: ignore[no-any-return]


def rule_fields_used(rule: Any) -> set[str]:
    """The field keys a (valid) rule tests."""
    if not isinstance(rule, dict):
        return set()
    if "field" in rule:
        return {rule["field"]}
    used: set[str] = set()
    for key in ("all", "any"):
        for child in rule.get(key) or []:
            used |= rule_fields_used(child)
    if "not" in rule:
        used |= rule_fields_used(rule["not"])
    return used
