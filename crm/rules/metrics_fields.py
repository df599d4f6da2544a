"""The customer metrics (crm/METRICS.md) as rule fields: segments and rule tags can target
"at risk", "champions" or "lifetime value above ¥10,000" from the one narrow row per customer
the nightly recompute writes (``crm_customermetrics``), not by aggregating transactions. A
customer without a metrics row (never recomputed) has no value: only "is empty" matches."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.rules.fields import BOOL, CHOICE, MONEY, NUMBER, RuleField, column_field

METRICS = _("Customer metrics")
TABLE = "crm_customermetrics"


def _stages() -> list[tuple[Any, Any]]:
    from crm.models import LifecycleStage

    return list(LifecycleStage.choices)


def _segments() -> list[tuple[Any, Any]]:
    from crm.models import RfmSegment

    return list(RfmSegment.choices)


METRICS_FIELDS: list[RuleField] = [
    column_field(
        "metrics.lifecycle_stage",
        _("Lifecycle stage"),
        CHOICE,
        table=TABLE,
        column="lifecycle_stage",
        choices=_stages,
        group=METRICS,
        order=40,
    ),
    column_field(
        "metrics.rfm_segment",
        _("RFM segment"),
        CHOICE,
        table=TABLE,
        column="rfm_segment",
        choices=_segments,
        group=METRICS,
        order=41,
    ),
    column_field(
        "metrics.churn_risk",
        _("At risk of churn"),
        BOOL,
        table=TABLE,
        column="churn_risk",
        group=METRICS,
        order=42,
    ),
    column_field(
        "metrics.recency_days",
        _("Days since the last purchase"),
        NUMBER,
        table=TABLE,
        column="recency_days",
        group=METRICS,
        order=43,
    ),
    column_field(
        "metrics.lifetime_value",
        _("Lifetime value (CNY)"),
        MONEY,
        table=TABLE,
        column="lifetime_value",
        group=METRICS,
        order=44,
    ),
]
