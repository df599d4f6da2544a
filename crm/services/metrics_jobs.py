"""The metrics' jobs: the recompute (nightly by beat, on demand from the admin) and the
monthly snapshot, each with progress (``crm.services.metrics`` does the work)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.jobs import JobContext, job_handler
from crm.services.metrics import (
    previous_months,
    recompute_metrics,
    reference_date,
    snapshot_month,
)

RESULT_LABELS = {
    "as_of": gettext_lazy("Reference date"),
    "customers": gettext_lazy("Customers computed"),
    "with_purchase": gettext_lazy("Customers with a purchase"),
    "churn_warnings": gettext_lazy("Churn warnings"),
    "snapshots": gettext_lazy("Monthly snapshots taken"),
}


@job_handler(
    "crm.recompute_metrics",
    label=gettext_lazy("Recompute customer metrics"),
    result_labels=RESULT_LABELS,
)
def recompute_metrics_job(ctx: JobContext) -> dict[str, Any]:
    """Recompute as of ``params["as_of"]`` (default: settings, else today); with
    ``params["snapshot_months"]`` = N, first the month-end snapshots of the N months before."""
    as_of = reference_date(ctx.params.get("as_of"))
    months = previous_months(as_of, int(ctx.params.get("snapshot_months") or 0))
    steps = len(months) + 1
    for n, month in enumerate(months):
        ctx.progress(
            100 * n / steps,
            _("Snapshot of %(month)s as of its last day") % {"month": f"{month:%Y-%m}"},
        )
        snapshot_month(month=month)
    ctx.progress(100 * len(months) / steps, _("Computing the metrics of every customer"))
    run = recompute_metrics(as_of=as_of)
    ctx.progress(95, _("Done"))
    return {**run.as_dict(), "snapshots": len(months)}


@job_handler(
    "crm.snapshot_metrics",
    label=gettext_lazy("Monthly metrics snapshot"),
    result_labels=RESULT_LABELS,
)
def snapshot_metrics_job(ctx: JobContext) -> dict[str, Any]:
    """The snapshot of the month before ``params["as_of"]`` (default today) as of its last
    day, then the metrics recomputed as of the reference date again."""
    today = reference_date(ctx.params.get("as_of"))
    month = previous_months(today, 1)[0]
    ctx.progress(5, _("Snapshot of %(month)s as of its last day") % {"month": f"{month:%Y-%m}"})
    snapshot_month(month=month)
    ctx.progress(60, _("Computing the metrics of every customer"))
    run = recompute_metrics(as_of=today)
    return {**run.as_dict(), "snapshots": 1}
