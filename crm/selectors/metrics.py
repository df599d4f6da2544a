"""Reading the customer metrics (``crm/METRICS.md``): the dashboards, the 360 panel, the churn
warnings. Every function is one query (or a fixed few) over the narrow metrics table or the
snapshots' aggregate rows, never over the transactions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import CharField, Count, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Cast, JSONObject

from crm.models import (
    BusinessUnit,
    CustomerMetrics,
    CustomerUnitMetrics,
    EngagementStage,
    LifecycleStage,
    MetricsSnapshot,
    RfmSegment,
)

# The lifetime value forecast's buckets on the dashboard: (lower bound, upper bound or None).
FORECAST_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (0, 0),
    (0, 100),
    (100, 500),
    (500, 1000),
    (1000, 5000),
    (5000, 20000),
    (20000, None),
)


@dataclass(frozen=True)
class UnitFigures:
    """One business unit's figures of a customer (``CustomerUnitMetrics``), for display."""

    unit: str
    stage: str
    segment: str
    rfm_code: str
    recency_days: int | None
    frequency: int
    monetary: Decimal


def customer_metrics(customer: Any) -> CustomerMetrics | None:
    """The customer's metrics row, or ``None`` before the first recompute, with its units'
    figures as ``unit_figures`` (a list of :class:`UnitFigures`, by unit code): one query."""
    units = (
        CustomerUnitMetrics.objects.filter(customer=OuterRef("customer"))
        .order_by("business_unit__code")
        .values(
            json=JSONObject(
                unit="business_unit__name",
                stage="lifecycle_stage",
                segment="rfm_segment",
                r="r_score",
                f="f_score",
                m="m_score",
                recency="recency_days",
                frequency="frequency",
                monetary=Cast("monetary", CharField()),
            )
        )
    )
    found = (
        CustomerMetrics.objects.filter(customer=customer)
        .annotate(units_json=ArraySubquery(units))
        .first()
    )
    if found is None:
        return None
    stages, segments = dict(LifecycleStage.choices), dict(RfmSegment.choices)
    found.unit_figures = [  # type: ignore[attr-defined]
        UnitFigures(
            unit=row["unit"],
            stage=str(stages.get(row["stage"], row["stage"])),
            segment=str(segments.get(row["segment"], row["segment"])),
            rfm_code=f"{row['r']}-{row['f']}-{row['m']}" if row["r"] else "",
            recency_days=row["recency"],
            frequency=row["frequency"],
            monetary=Decimal(row["monetary"]),
        )
        for row in found.units_json or []
    ]
    return found


def churn_warnings() -> QuerySet[CustomerMetrics]:
    """Customers with a churn warning, the most overdue first (index metrics_churn_overdue)."""
    return (
        CustomerMetrics.objects.filter(churn_risk=True, customer__merged_into__isnull=True)
        .select_related("customer")
        .order_by("-churn_overdue_days", "-customer_id")
    )


@dataclass
class MetricsDashboard:
    as_of: date | None
    customers: int
    segments: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    heatmap: list[dict[str, Any]]
    forecast: list[dict[str, Any]]
    engagement: list[dict[str, Any]]
    churn_total: int
    churn_top: list[CustomerMetrics]
    trend: list[dict[str, Any]]
    transitions: list[dict[str, Any]]
    transitions_month: date | None
    overlap: list[dict[str, Any]]


def _labelled(rows: dict[str, dict[str, Any]], choices: Any) -> list[dict[str, Any]]:
    """One row per choice, in the choices' order, zero where nothing was counted."""
    return [
        {
            "key": value,
            "label": str(label),
            "customers": rows.get(value, {}).get("customers", 0),
            "monetary": float(rows.get(value, {}).get("monetary") or 0),
        }
        for value, label in choices
    ]


def _by(field: str) -> dict[str, dict[str, Any]]:
    return {
        r[field]: r
        for r in CustomerMetrics.objects.values(field)
        .annotate(customers=Count("pk"), monetary=Sum("monetary"))
        .order_by()
    }


def _forecast_buckets() -> list[dict[str, Any]]:
    aggregates = {}
    for n, (low, high) in enumerate(FORECAST_BUCKETS):
        if high == 0:
            condition = Q(frequency__gt=0, lifetime_value_forecast=0)
        elif high is None:
            condition = Q(lifetime_value_forecast__gt=low)
        else:
            condition = Q(lifetime_value_forecast__gt=low, lifetime_value_forecast__lte=high)
        aggregates[f"b{n}"] = Count("pk", filter=condition)
    counts = CustomerMetrics.objects.aggregate(**aggregates)
    return [
        {
            "label": "0" if high == 0 else f"{low:,}+" if high is None else f"{low:,}–{high:,}",
            "customers": counts[f"b{n}"],
        }
        for n, (low, high) in enumerate(FORECAST_BUCKETS)
    ]


def _trend(limit: int = 12) -> list[dict[str, Any]]:
    """Customers per lifecycle stage in each of the last ``limit`` snapshot months."""
    months = list(
        MetricsSnapshot.objects.filter(customer__isnull=True)
        .values_list("month", flat=True)
        .distinct()
        .order_by("-month")[:limit]
    )
    if not months:
        return []
    rows = (
        MetricsSnapshot.objects.filter(customer__isnull=True, month__in=months)
        .values("month", "lifecycle_stage")
        .annotate(customers=Sum("customers"))
        .order_by("month")
    )
    labels = dict(LifecycleStage.choices)
    return [
        {
            "month": f"{r['month']:%Y-%m}",
            "key": str(labels.get(r["lifecycle_stage"], r["lifecycle_stage"])),
            "count": r["customers"],
        }
        for r in rows
    ]


_TRANSITIONS_SQL = """
SELECT s.lifecycle_stage, m.lifecycle_stage, count(*)
FROM crm_metricssnapshot s JOIN crm_customermetrics m ON m.customer_id = s.customer_id
WHERE s.month = %s AND s.customer_id IS NOT NULL AND s.lifecycle_stage <> m.lifecycle_stage
GROUP BY 1, 2 ORDER BY 3 DESC
"""

_OVERLAP_SQL = """
SELECT a, b, count(*)
FROM crm_customermetrics m, unnest(m.business_units) a, unnest(m.business_units) b
WHERE m.business_unit_count >= 2 AND a < b
GROUP BY a, b ORDER BY 3 DESC
"""


def _transitions(current: date | None) -> tuple[date | None, list[dict[str, Any]]]:
    """Customers whose stage changed since the latest snapshot month before ``current``'s."""
    if current is None:
        return None, []
    month = MetricsSnapshot.objects.filter(
        customer__isnull=True, month__lt=current.replace(day=1)
    ).aggregate(latest=Max("month"))["latest"]
    if month is None:
        return None, []
    labels = dict(LifecycleStage.choices)
    with connection.cursor() as cursor:
        cursor.execute(_TRANSITIONS_SQL, [month])
        found = cursor.fetchall()
    return month, [
        {"source": str(labels[a]), "target": str(labels[b]), "from": a, "to": b, "count": n}
        for a, b, n in found
    ]


def _overlap() -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(_OVERLAP_SQL)
        pairs = cursor.fetchall()
    if not pairs:
        return []
    units = dict(BusinessUnit.objects.values_list("pk", "name"))
    return [
        {"source": units.get(a, str(a)), "target": units.get(b, str(b)), "count": n}
        for a, b, n in pairs
    ]


def metrics_dashboard() -> MetricsDashboard:
    """Everything the metrics dashboard shows, in a fixed number of queries."""
    head = CustomerMetrics.objects.aggregate(
        as_of=Max("as_of"),
        customers=Count("pk"),
        churn=Count("pk", filter=Q(churn_risk=True)),
    )
    segments = _labelled(_by("rfm_segment"), RfmSegment.choices)
    spend = sum(max(s["monetary"], 0) for s in segments if s["key"] != RfmSegment.NO_PURCHASE)
    for s in segments:
        s["share"] = round(100 * max(s["monetary"], 0) / spend, 1) if spend else 0
    heatmap = [
        {
            "r": r["r_score"],
            "f": r["f_score"],
            "customers": r["customers"],
            "monetary": float(r["m"]),
        }
        for r in CustomerMetrics.objects.filter(r_score__isnull=False)
        .values("r_score", "f_score")
        .annotate(customers=Count("pk"), m=Sum("monetary"))
        .order_by()
    ]
    month, transitions = _transitions(head["as_of"])
    return MetricsDashboard(
        as_of=head["as_of"],
        customers=head["customers"],
        segments=segments,
        stages=_labelled(_by("lifecycle_stage"), LifecycleStage.choices),
        heatmap=heatmap,
        forecast=_forecast_buckets(),
        engagement=_labelled(_by("engagement_stage"), EngagementStage.choices),
        churn_total=head["churn"],
        churn_top=list(churn_warnings()[:10]),
        trend=_trend(),
        transitions=transitions,
        transitions_month=month,
        overlap=_overlap(),
    )
