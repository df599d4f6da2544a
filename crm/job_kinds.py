"""The registry of job kinds: a kind's label, handler and the labels of its result's figures.

It imports nothing of the crm, so that the models (``Job.label``) can read it; handlers are
registered with ``crm.jobs.job_handler``, which runs them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobKind:
    kind: str
    label: Any
    handler: Callable[..., Any]  # called with a ``crm.jobs.JobContext``
    result_labels: Mapping[str, Any]


_REGISTRY: dict[str, JobKind] = {}


def register_job_kind(entry: JobKind) -> None:
    _REGISTRY[entry.kind] = entry


def job_kind(kind: str) -> JobKind | None:
    return _REGISTRY.get(kind)


def job_kinds() -> dict[str, JobKind]:
    return dict(_REGISTRY)


def job_label(kind: str) -> Any:
    entry = _REGISTRY.get(kind)
    return entry.label if entry else kind


def job_result_items(kind: str, result: Any) -> list[tuple[Any, Any]]:
    """``(label, value)`` pairs of a dict result, labelled as the job kind declares."""
    if not isinstance(result, dict):
        return []
    entry = _REGISTRY.get(kind)
    labels = entry.result_labels if entry else {}
    # Figures only (lists such as per-row errors have their own display), in declared order.
    order = {key: n for n, key in enumerate(labels)}
    shown = [(key, value) for key, value in result.items() if not isinstance(value, list | dict)]
    shown.sort(key=lambda item: (order.get(item[0], len(order)), item[0]))
    return [(labels.get(key, key), value) for key, value in shown]
