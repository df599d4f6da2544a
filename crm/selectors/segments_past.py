"""Segments as they were on the first day of a past month (crm/METRICS.md, "Segments as of a
past month"): the rule evaluated over the customers of that month's metrics snapshot, its
metrics fields read from the snapshot's rows, its purchase fields from the transactions
before that day; a field without history is refused, naming it (``RuleField.past``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Max, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Customer, MetricsSnapshot, Segment
from crm.rules import PastMonth, matching_ids_sql, validate_rule
from crm.selectors.segments import count_ids, latest_snapshot, snapshot_customers


class NoSnapshot(DomainError):
    code = "no_metrics_snapshot"
    status = 404


@dataclass(frozen=True)
class SnapshotMonth:
    """A month with a metrics snapshot: ``month`` (its first day) and ``as_of``, the
    reference date its figures were computed as of (normally the month's last day)."""

    month: date
    as_of: date

    @property
    def day(self) -> date:
        """The day it shows the state on, from its first instant: the day after ``as_of``
        (a March snapshot shows the customers as they were on 1 April)."""
        return self.as_of + timedelta(days=1)

    @property
    def past(self) -> PastMonth:
        start = datetime.combine(self.day, time.min)
        return PastMonth(
            month=self.month, at=timezone.make_aware(start, timezone.get_default_timezone())
        )


def metrics_snapshot_months() -> list[SnapshotMonth]:
    """The months with a snapshot, newest first (one query over the aggregate rows)."""
    rows = (
        MetricsSnapshot.objects.filter(customer__isnull=True)
        .values("month")
        .annotate(as_of=Max("as_of"))
        .order_by("-month")
    )
    return [SnapshotMonth(month=r["month"], as_of=r["as_of"]) for r in rows]


def metrics_snapshot_month(month: date | str | None) -> SnapshotMonth:
    """The snapshot of ``month`` (a date or ``YYYY-MM-DD``/``YYYY-MM`` text), or
    :class:`NoSnapshot` saying so (one query)."""
    day: date | None = month if isinstance(month, date) else None
    if day is None and month:
        text = str(month).strip()
        try:
            day = date.fromisoformat(text if len(text) > 7 else f"{text}-01")
        except ValueError:
            day = None
    if day is None:
        raise NoSnapshot(_("Choose a month that has a metrics snapshot."), field="month")
    first = day.replace(day=1)
    as_of = MetricsSnapshot.objects.filter(customer__isnull=True, month=first).aggregate(
        as_of=Max("as_of")
    )["as_of"]
    if as_of is None:
        raise NoSnapshot(
            _(
                "There is no metrics snapshot of %(month)s, so the segment cannot be shown as "
                "it was then: choose a month that has one."
            )
            % {"month": f"{first:%Y-%m}"},
            field="month",
        )
    return SnapshotMonth(month=first, as_of=as_of)


Month = SnapshotMonth | date | str


def _resolve(month: Month) -> SnapshotMonth:
    return month if isinstance(month, SnapshotMonth) else metrics_snapshot_month(month)


def _past_ids_sql(rule: Any, month: Month, *, validated: bool = False) -> tuple[str, list[Any]]:
    """The compiled ids of the customers ``rule`` matched then (a field without history:
    ``RuleInvalid`` naming it; ``validated``: the caller just ran ``validate_rule(rule,
    past=True)``)."""
    normalized = rule if validated else validate_rule(rule, past=True)
    return matching_ids_sql(normalized, validated=True, past=_resolve(month).past)


def count_rule_as_of(
    rule: Any, month: Month, *, timeout_ms: int | None = None, validated: bool = False
) -> int:
    """How many customers ``rule`` matched then (each as the customer it was: two merged
    since count as two)."""
    sql, params = _past_ids_sql(rule, month, validated=validated)
    return count_ids(sql, params, timeout_ms=timeout_ms)


def _survivors_sql(sql: str) -> str:
    return (
        "SELECT DISTINCT COALESCE(p.merged_into_id, p.id) FROM crm_customer p "  # noqa: S608
        f"WHERE p.id IN ({sql})"  # the compiled rule: values are parameters
    )


def rule_customers_as_of(rule: Any, month: Month, *, validated: bool = False) -> QuerySet[Customer]:
    """The customers ``rule`` matched then, each as the customer it is now (one merged since:
    its survivor), like a frozen segment's members."""
    sql, params = _past_ids_sql(rule, month, validated=validated)
    return Customer.objects.filter(
        merged_into__isnull=True,
        pk__in=RawSQL(_survivors_sql(sql), params),  # noqa: S611 (compiled)
    )


def segment_members_as_of(segment: Segment, month: Month) -> QuerySet[Customer]:
    """The members ``segment``'s (current) rule gave on ``month.day`` (as they are now)."""
    return rule_customers_as_of(segment.rule, month)


def segment_count_as_of(segment: Segment, month: Month, *, timeout_ms: int | None = None) -> int:
    """How many customers ``segment``'s (current) rule matched on ``month.day``."""
    return count_rule_as_of(segment.rule, month, timeout_ms=timeout_ms)


@dataclass(frozen=True)
class SegmentChanges:
    entered: int  # members now that were not then
    left: int  # members then that are not now


def segment_changes_since(
    segment: Segment, month: Month, *, rule: dict[str, Any] | None = None
) -> SegmentChanges:
    """How many customers entered and left ``segment`` since ``month.day``: its members now
    (a frozen one's: its snapshot's) against those then, both as the customers they are now
    (one query; ``rule``: the segment's rule already validated for the past)."""
    normalized = rule if rule is not None else validate_rule(segment.rule, past=True)
    past_sql, past_params = _past_ids_sql(normalized, month, validated=True)
    snapshot = latest_snapshot(segment) if segment.is_frozen else None
    if snapshot is not None:
        members = snapshot_customers(snapshot)
    else:
        live_sql, live_params = matching_ids_sql(normalized, validated=True)
        members = Customer.objects.filter(pk__in=RawSQL(live_sql, live_params))  # noqa: S611
    now_sql, now_params = members.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH then_ AS ({_survivors_sql(past_sql)}), now_ AS ({now_sql}) "  # noqa: S608
            "SELECT (SELECT count(*) FROM (SELECT * FROM now_ EXCEPT SELECT * FROM then_) e), "
            "(SELECT count(*) FROM (SELECT * FROM then_ EXCEPT SELECT * FROM now_) l)",
            [*past_params, *now_params],
        )
        entered, left = cursor.fetchone()
    return SegmentChanges(entered=int(entered), left=int(left))
