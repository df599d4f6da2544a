"""The customer metrics (crm/METRICS.md) as rule fields: segments and rule tags can target
"at risk", "champions" or "lifetime value above ¥10,000" from the one narrow row per customer
the nightly recompute writes (``crm_customermetrics``), not by aggregating transactions; with a
business ``unit`` parameter, the stage, segment, recency, frequency and spend read that unit's
row instead (``crm_customerunitmetrics``): "active at the dealership", "champions of the
supermarket". A customer without a metrics row (never recomputed, or no transaction in the
unit) has no value: only "is empty" matches. As of a past month, the fields the monthly
snapshot keeps read its row of that month (group-wide only); the others have no history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _

from crm.rules.fields import (
    BOOL,
    CHOICE,
    MONEY,
    NUMBER,
    PARAM_UNIT,
    Facts,
    Params,
    RuleField,
    Sql,
)

METRICS = _("Customer metrics")
TABLE = "crm_customermetrics"
UNIT_TABLE = "crm_customerunitmetrics"
SNAPSHOT_TABLE = "crm_metricssnapshot"


def _stages() -> list[tuple[Any, Any]]:
    from crm.models import LifecycleStage

    return list(LifecycleStage.choices)


def _segments() -> list[tuple[Any, Any]]:
    from crm.models import RfmSegment

    return list(RfmSegment.choices)


def unit_metric_field(
    key: str,
    label: Any,
    type_: str,
    *,
    column: str,
    choices: Callable[[], list[tuple[Any, Any]]] | None = None,
    order: int = 100,
    help: Any = "",
    unit: bool = True,
    snapshot: str = "",
) -> RuleField:
    """A metrics column, group-wide without a ``unit`` parameter and that unit's with one
    (``unit=False``: group-wide only). ``snapshot``: the same value in a row ``x`` of the
    monthly snapshot (``crm_metricssnapshot``), read as of a past month; empty: the snapshot
    does not keep it, and the field has no history (nor has any unit's figure: the snapshot
    is group-wide).
    ``column`` and ``snapshot`` are code, never user input; the unit and month travel as
    parameters."""
    name = connection.ops.quote_name(column)
    group_sql = f"(SELECT x.{name} FROM {TABLE} x WHERE x.customer_id = c.id)"  # noqa: S608
    unit_sql = (
        f"(SELECT x.{name} FROM {UNIT_TABLE} x "  # noqa: S608 (code, not input)
        "WHERE x.customer_id = c.id AND x.business_unit_id = %s)"
    )
    past_source = f"FROM {SNAPSHOT_TABLE} x WHERE x.customer_id = c.id AND x.month = %s"

    def sql(params: Params) -> Sql:
        if params.past:
            return f"(SELECT {snapshot} {past_source})", [params.month]
        if params.unit is None:
            return group_sql, []
        return unit_sql, [params.unit]

    def row(params: Params) -> tuple[str, str, list[Any]]:
        if params.past:
            return past_source, snapshot, [params.month]
        if params.unit is None:
            return f"FROM {TABLE} x WHERE x.customer_id = c.id", f"x.{name}", []
        return (
            f"FROM {UNIT_TABLE} x WHERE x.customer_id = c.id AND x.business_unit_id = %s",
            f"x.{name}",
            [params.unit],
        )

    def load(ids: list[int]) -> dict[int, Any]:
        """Each customer's values: ``{None: group value, unit id: that unit's value}``."""
        values: dict[int, dict[int | None, Any]] = {}
        sql = f"SELECT x.customer_id, NULL, x.{name} FROM {TABLE} x WHERE x.customer_id = ANY(%s)"  # noqa: S608
        args: list[Any] = [list(ids)]
        if unit:
            sql += (
                f" UNION ALL SELECT x.customer_id, x.business_unit_id, x.{name} "  # noqa: S608
                f"FROM {UNIT_TABLE} x WHERE x.customer_id = ANY(%s)"
            )
            args.append(list(ids))
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            for customer_id, unit_id, value in cursor.fetchall():
                values.setdefault(customer_id, {})[unit_id] = value
        return values

    def value(facts: Facts, params: Params) -> Any:
        return (facts.extra.get(key) or {}).get(params.unit)

    return RuleField(
        key,
        label,
        type_,
        sql=sql,
        value=value,
        group=METRICS,
        choices=choices,
        params=(PARAM_UNIT,) if unit else (),
        help=help,
        load=load,
        order=order,
        row=row,
        past=bool(snapshot),
    )


UNIT_HELP = _("Choose a business unit to read that unit's figures instead of the group's.")

METRICS_FIELDS: list[RuleField] = [
    unit_metric_field(
        "metrics.lifecycle_stage",
        _("Lifecycle stage"),
        CHOICE,
        column="lifecycle_stage",
        snapshot="x.lifecycle_stage",
        choices=_stages,
        order=40,
        help=UNIT_HELP,
    ),
    unit_metric_field(
        "metrics.rfm_segment",
        _("RFM segment"),
        CHOICE,
        column="rfm_segment",
        snapshot="x.rfm_segment",
        choices=_segments,
        order=41,
        help=UNIT_HELP,
    ),
    unit_metric_field(
        "metrics.churn_risk",
        _("At risk of churn"),
        BOOL,
        column="churn_risk",
        snapshot="(x.churn_risks > 0)",
        order=42,
        unit=False,
    ),
    *(
        unit_metric_field(
            f"metrics.{letter}_score",
            label,
            NUMBER,
            column=f"{letter}_score",
            snapshot=f"x.{letter}_score",
            order=order,
            help=UNIT_HELP,
        )
        for letter, label, order in (
            ("r", _("R score"), 47),
            ("f", _("F score"), 48),
            ("m", _("M score"), 49),
        )
    ),
    unit_metric_field(
        "metrics.recency_days",
        _("Days since the last purchase"),
        NUMBER,
        column="recency_days",
        order=43,
        help=UNIT_HELP,
    ),
    unit_metric_field(
        "metrics.lifetime_value",
        _("Lifetime value (CNY)"),
        MONEY,
        column="lifetime_value",
        snapshot="x.monetary",
        order=44,
        unit=False,
    ),
    unit_metric_field(
        "metrics.frequency",
        _("Number of purchases (metrics)"),
        NUMBER,
        column="frequency",
        order=45,
        help=UNIT_HELP,
    ),
    unit_metric_field(
        "metrics.monetary",
        _("Net spend (metrics, CNY)"),
        MONEY,
        column="monetary",
        snapshot="x.monetary",
        order=46,
        help=UNIT_HELP,
    ),
]
