"""The operators of the rule language, by field type, and the words the screens use for them,
their parameters and the types (``crm.rules.language`` validates with them)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from crm.rules.fields import (
    BOOL,
    CHOICE,
    DATETIME,
    MONEY,
    NUMBER,
    PARAM_DAYS,
    PARAM_UNIT,
    SET,
    TEXT,
)

# No value: the operator says it all.
NO_VALUE = frozenset({"is_empty", "is_not_empty", "is_true", "is_false"})

OPERATOR_LABELS = {
    "eq": gettext_lazy("equals"),
    "ne": gettext_lazy("does not equal"),
    "gt": gettext_lazy("is more than"),
    "gte": gettext_lazy("is at least"),
    "lt": gettext_lazy("is less than"),
    "lte": gettext_lazy("is at most"),
    "between": gettext_lazy("is between"),
    "contains": gettext_lazy("contains"),
    "not_contains": gettext_lazy("does not contain"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "has_any": gettext_lazy("includes any of"),
    "has_all": gettext_lazy("includes all of"),
    "has_none": gettext_lazy("includes none of"),
    "within_last_days": gettext_lazy("is within the last … days"),
    "not_within_last_days": gettext_lazy("is more than … days ago"),
    "before": gettext_lazy("is before"),
    "on_or_after": gettext_lazy("is on or after"),
    "is_empty": gettext_lazy("is empty"),
    "is_not_empty": gettext_lazy("is not empty"),
    "is_true": gettext_lazy("is yes"),
    "is_false": gettext_lazy("is no"),
}

PARAM_LABELS = {
    PARAM_DAYS: gettext_lazy("in the last … days"),
    PARAM_UNIT: gettext_lazy("in business unit"),
}

_COMPARE = ("eq", "ne", "gt", "gte", "lt", "lte", "between")
OPERATORS: dict[str, tuple[str, ...]] = {
    NUMBER: (*_COMPARE, "is_empty", "is_not_empty"),
    MONEY: (*_COMPARE, "is_empty", "is_not_empty"),
    TEXT: ("eq", "ne", "contains", "not_contains", "is_empty", "is_not_empty"),
    CHOICE: ("in", "not_in", "is_empty", "is_not_empty"),
    SET: ("has_any", "has_all", "has_none", "is_empty", "is_not_empty"),
    DATETIME: (
        "within_last_days",
        "not_within_last_days",
        "before",
        "on_or_after",
        "is_empty",
        "is_not_empty",
    ),
    BOOL: ("is_true", "is_false"),
}

TYPE_LABELS = {
    NUMBER: gettext_lazy("a number"),
    MONEY: gettext_lazy("an amount"),
    TEXT: gettext_lazy("a text"),
    CHOICE: gettext_lazy("a choice"),
    SET: gettext_lazy("a list"),
    DATETIME: gettext_lazy("a date"),
    BOOL: gettext_lazy("yes or no"),
}
