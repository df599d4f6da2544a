"""The rule language of rule-based tags and segments (see ``crm.rules.language``): fields
(``crm.rules.fields``; the master's in ``master_fields``, the apps' registered from their
``ready()``), the validator, the SQL compiler and the Python evaluator."""

from crm.rules.compiler import PastMonth, compile_rule, matching_ids_sql
from crm.rules.evaluator import evaluate_rule, load_facts, matching_ids_python
from crm.rules.fields import (
    BOOL,
    CHOICE,
    DATETIME,
    FIELD_TYPES,
    MONEY,
    NUMBER,
    PARAM_DAYS,
    PARAM_UNIT,
    SET,
    TEXT,
    Facts,
    Params,
    RuleField,
    TxFact,
    column_field,
    query_field,
    register_rule_field,
    rule_field,
    rule_fields,
)
from crm.rules.language import RuleError, RuleInvalid, rule_fields_used, validate_rule
from crm.rules.master_fields import register_master_fields
from crm.rules.metrics_fields import METRICS_FIELDS
from crm.rules.operators import NO_VALUE, OPERATOR_LABELS, OPERATORS

register_master_fields()
for _field in METRICS_FIELDS:
    register_rule_field(_field)

__all__ = [
    "BOOL",
    "CHOICE",
    "DATETIME",
    "FIELD_TYPES",
    "MONEY",
    "NO_VALUE",
    "NUMBER",
    "OPERATORS",
    "OPERATOR_LABELS",
    "PARAM_DAYS",
    "PARAM_UNIT",
    "SET",
    "TEXT",
    "Facts",
    "Params",
    "PastMonth",
    "RuleError",
    "RuleField",
    "RuleInvalid",
    "TxFact",
    "column_field",
    "compile_rule",
    "evaluate_rule",
    "load_facts",
    "matching_ids_python",
    "matching_ids_sql",
    "query_field",
    "register_rule_field",
    "rule_field",
    "rule_fields",
    "rule_fields_used",
    "validate_rule",
]
