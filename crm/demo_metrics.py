"""The demo's customer metrics: the month-end snapshots of the last 12 months (so that the
dashboards show months), then the metrics as of today. Recomputed from the loaded
transactions like the nightly job does; running it again gives the same rows."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from crm.services import recompute_metrics, snapshot_month
from crm.services.metrics import previous_months

DEMO_MONTHS = 12


def load_metrics_demo(months: int = DEMO_MONTHS) -> dict[str, Any]:
    for month in previous_months(timezone.localdate(), months):
        snapshot_month(month=month)
    run = recompute_metrics()
    return {**run.as_dict(), "snapshots": months}
