"""The background-job list: what each entry is about (kind, file, unit, who, when), its
figures and its outcome, read without loading results' per-row error lists."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Func, JSONField, QuerySet, Value
from django.db.models.fields.json import KT

from crm.models import Job
from crm.selectors.platform import job_list

# The figures the list shows when a job's result has them (an import: rows read, stored,
# rejected); other kinds show their first declared figures.
LIST_FIGURES = ("received", "created", "rejected")
MAX_FIGURES = 3


class _JsonbMinus(Func):
    """``jsonb - 'key'``: the result without its (long) list of row errors."""

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = JSONField()


def job_list_entries(*, user: Any, status: str = "") -> QuerySet[Job]:
    """Jobs the user may see, newest first, with ``filename``, ``source``, ``dry_run`` and
    ``figures`` (the result without its error rows) annotated; parameters, tracebacks and
    full results are not read."""
    return (
        job_list(user=user, status=status)
        .select_related("api_key")
        .defer("params", "result", "traceback")
        .annotate(
            filename=KT("params__filename"),
            source=KT("params__source"),
            dry_run=KT("params__dry_run"),
            figures=_JsonbMinus(F("result"), Value("errors")),
        )
    )


def job_figures(job: Job) -> list[tuple[Any, Any]]:
    """``(label, value)`` of the figures a list entry shows."""
    from crm.jobs import job_result_items

    figures = getattr(job, "figures", None)
    if not isinstance(figures, dict):
        return []
    wanted = {k: figures[k] for k in LIST_FIGURES if k in figures}
    return job_result_items(job.kind, wanted or figures)[:MAX_FIGURES]
