"""The fields a rule may test: the customer master's own (``crm.rules.master_fields``) and
those the apps register from their ``AppConfig.ready()`` with :func:`register_rule_field`,
so that ``crm`` never imports them.

A field is the SQL of one value per customer (a correlated scalar expression over the
customer row aliased ``c``, or for a ``set`` field a ``SELECT`` of its elements) and the
same value computed in Python from :class:`Facts` (the pure evaluator, which the tests hold
equal to the SQL). Registering a column of a table keyed by customer takes one line with
:func:`column_field`; the customer metrics will register theirs this way::

    # crm/apps.py, ready() (or wherever the metrics are registered)
    from crm.rules import CHOICE, NUMBER, column_field, register_rule_field

    register_rule_field(column_field(
        "metrics.stage", _("Lifecycle stage"), CHOICE,
        table="crm_customermetrics", column="stage", where="x.scope = 'group'",
        choices=lambda: LifecycleStage.choices, group=_("Metrics"),
    ))
    register_rule_field(column_field(
        "metrics.r_score", _("Recency score (1-5)"), NUMBER,
        table="crm_customermetrics", column="r_score", where="x.scope = 'group'",
        group=_("Metrics"),
    ))

``table``, ``column`` and ``where`` are code (identifiers and constants), never user input:
every value a user gives travels as a query parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _

# Field types (what a value is) and the SQL type a parameter is cast to.
NUMBER = "number"
MONEY = "money"
TEXT = "text"
CHOICE = "choice"
SET = "set"
DATETIME = "datetime"
BOOL = "bool"
FIELD_TYPES = (NUMBER, MONEY, TEXT, CHOICE, SET, DATETIME, BOOL)

CUSTOMER_GROUP = _("Customer")

# Parameters a field may take: a window of days before the reference time, a business unit.
PARAM_DAYS = "days"
PARAM_UNIT = "unit"
PARAM_NAMES = (PARAM_DAYS, PARAM_UNIT)
MAX_DAYS = 36500


@dataclass(frozen=True)
class Params:
    """A condition's parameters and the reference time of the evaluation. ``month``: when
    the rule is evaluated as of a past month (``crm.rules.compile_rule(past=…)``), the month
    of the metrics snapshot to read (``crm_metricssnapshot.month``); ``now`` is then the end
    of that snapshot's reference date, and no transaction at or after it counts."""

    now: datetime
    days: int | None = None
    unit: int | None = None
    month: date | None = None

    @property
    def past(self) -> bool:
        return self.month is not None

    @property
    def since(self) -> datetime | None:
        return None if self.days is None else self.now - timedelta(days=self.days)


@dataclass(frozen=True)
class TxFact:
    business_unit_id: int
    kind: str
    status: str
    amount: Any  # Decimal
    currency: str
    occurred_at: datetime


@dataclass
class Facts:
    """What the Python evaluator knows of one customer: raw rows, never an aggregate, so that
    every figure a field computes here is computed independently of its SQL."""

    id: int
    kind: str = "person"
    gender: str = ""
    region: str = ""
    source: str = ""
    created_at: datetime | None = None
    transactions: list[TxFact] = field(default_factory=list)
    tag_ids: frozenset[int] = frozenset()
    # (channel, purpose, granted, occurred_at, id) of every consent row
    consents: list[tuple[str, str, bool, datetime, int]] = field(default_factory=list)
    identity_types: frozenset[str] = frozenset()
    blacklisted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # app fields: key -> loaded value


Sql = tuple[str, list[Any]]


@dataclass(frozen=True)
class RuleField:
    """``sql(params)``: the value for the customer ``c`` (a scalar expression, or for a
    ``set`` field a query listing its elements, shaped ``SELECT <element> FROM … WHERE …``
    with that ``WHERE`` last and at the top level: the compiler appends ``AND <element> =
    ANY(…)`` to it); ``value(facts, params)``: the
    same in Python; ``load(ids)``, for fields whose facts are not the master's: each
    customer's value (``Facts.extra[key]``). ``choices()``: the values a choice or set field
    takes, ``(value, label)``. ``sql_type``: what parameters are cast to (``bigint``,
    ``text``, ``numeric``, ``timestamptz``, ``boolean``)."""

    key: str
    label: Any
    type: str
    sql: Callable[[Params], Sql]
    value: Callable[[Facts, Params], Any]
    group: Any = CUSTOMER_GROUP
    choices: Callable[[], list[tuple[Any, Any]]] | None = None
    params: tuple[str, ...] = ()
    help: Any = ""
    load: Callable[[list[int]], dict[int, Any]] | None = None
    sql_type: str = ""
    order: int = 100
    # For a field read from one row of a table keyed by customer: ``(FROM … WHERE …, column,
    # parameters)``, the ``WHERE`` tying the row to ``c``; the compiler then writes each
    # condition as ``EXISTS (SELECT 1 FROM … WHERE … AND <column condition>)``, which
    # PostgreSQL plans as a semi join on the table's indexes instead of one probe per customer.
    row: Callable[[Params], tuple[str, str, list[Any]]] | None = None
    # As of a past month (``Params.month`` set): ``past`` when ``sql``/``row`` (and ``value``)
    # then give the value as it was (from a snapshot, or from the transactions before
    # ``Params.now``); ``past_params``: the parameters it still takes then (the others have no
    # history). A field without history is refused by ``validate_rule(rule, past=True)``,
    # never evaluated with today's value.
    past: bool = False
    past_params: tuple[str, ...] = ()

    @property
    def param_type(self) -> str:
        if self.sql_type:
            return self.sql_type
        return {
            NUMBER: "numeric",
            MONEY: "numeric",
            TEXT: "text",
            CHOICE: "text",
            SET: "text",
            DATETIME: "timestamptz",
            BOOL: "boolean",
        }[self.type]


_fields: dict[str, RuleField] = {}


def register_rule_field(rule_field: RuleField) -> None:
    if rule_field.type not in FIELD_TYPES:
        raise ValueError(f"unknown rule field type {rule_field.type!r}")
    unknown = set(rule_field.params) - set(PARAM_NAMES)
    if unknown:
        raise ValueError(f"unknown rule field parameters {sorted(unknown)}")
    _fields[rule_field.key] = rule_field


def rule_field(key: str) -> RuleField | None:
    return _fields.get(key)


def rule_fields() -> list[RuleField]:
    return sorted(_fields.values(), key=lambda f: (f.order, f.key))


def _quote(name: str) -> str:
    return ".".join(connection.ops.quote_name(part) for part in name.split("."))


def column_field(
    key: str,
    label: Any,
    type_: str,
    *,
    table: str,
    column: str,
    customer_column: str = "customer_id",
    where: str = "",
    choices: Callable[[], list[tuple[Any, Any]]] | None = None,
    group: Any = CUSTOMER_GROUP,
    help: Any = "",
    sql_type: str = "",
    order: int = 100,
) -> RuleField:
    """A field read from one column of a table with (at most) one row per customer, aliased
    ``x`` (``where`` may name it: ``x.scope = 'group'``). A customer without a row has no
    value (``is empty``)."""
    table_sql, column_sql, customer_sql = _quote(table), _quote(column), _quote(customer_column)
    extra = f" AND ({where})" if where else ""
    scalar = (
        f"(SELECT x.{column_sql} FROM {table_sql} x WHERE x.{customer_sql} = c.id{extra} LIMIT 1)"  # noqa: S608 (code, not input)
    )

    def load(ids: list[int]) -> dict[int, Any]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT x.{customer_sql}, x.{column_sql} FROM {table_sql} x "  # noqa: S608
                f"WHERE x.{customer_sql} = ANY(%s){extra}",
                [list(ids)],
            )
            return dict(cursor.fetchall())

    return RuleField(
        key,
        label,
        type_,
        sql=lambda params: (scalar, []),
        value=lambda facts, params: facts.extra.get(key),
        group=group,
        choices=choices,
        help=help,
        load=load,
        sql_type=sql_type,
        order=order,
    )


def query_field(
    key: str,
    label: Any,
    type_: str,
    *,
    sql: str,
    load_sql: str,
    choices: Callable[[], list[tuple[Any, Any]]] | None = None,
    group: Any = CUSTOMER_GROUP,
    help: Any = "",
    sql_type: str = "",
    order: int = 100,
) -> RuleField:
    """A field written as two queries of the code (no user value in them): ``sql``, the
    value of the customer ``c`` (a scalar subquery, or for a ``set`` field a query of its
    elements), and ``load_sql``, ``(customer_id, value)`` rows for the customers
    ``= ANY(%s)``, which the Python evaluator reads (a set field: one row per element; a
    ``bool`` field: the customers for which it is true)."""

    def load(ids: list[int]) -> dict[int, Any]:
        with connection.cursor() as cursor:
            cursor.execute(load_sql, [list(ids)])
            rows = cursor.fetchall()
        if type_ == SET:
            elements: dict[int, set[Any]] = {pk: set() for pk in ids}
            for pk, value in rows:
                elements.setdefault(pk, set()).add(value)
            return elements
        if type_ == BOOL:
            true = {pk for pk, value in rows if value}
            return {pk: pk in true for pk in ids}
        return dict(rows)

    return RuleField(
        key,
        label,
        type_,
        sql=lambda params: (sql, []),
        value=lambda facts, params: facts.extra.get(key),
        group=group,
        choices=choices,
        help=help,
        load=load,
        sql_type=sql_type,
        order=order,
    )
