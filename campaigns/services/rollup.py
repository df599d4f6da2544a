"""Keeping the monthly rollup of coupon results (campaigns/ROLLUP.md) exact.

Which cells can change, and who tells the job:
- issuing writes the issue cell of the month of ``issued_at``; redeeming writes the
  redemption cell of the month of ``redeemed_at``. Both are the current month when the
  service runs on the clock (the desk, the API, bulk issues, trigger rules, exchanges): the
  job recomputes the current and the previous month on every run (the previous one for a
  transaction that began before midnight on the 1st and committed after);
- a coupon issued or redeemed with an earlier date (an explicit ``now``: imports, demos,
  tests), and a reversal that gives a coupon back (it removes a redemption of the month it
  was made in), append a :class:`CouponRollupMark` for that month in their own transaction;
- expiry and voiding change a coupon's status from ``issued`` only: no cell counts statuses
  other than redeemed, so no cell changes; a merge changes the owner, not a dimension;
  editing a template's currency or funding shares changes nothing stored (they are read
  with the cells).

The redemption path on the clock writes nothing more than before: no counter row, no mark.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Coupon, CouponMonthRollup, CouponRollupMark, CouponRollupState
from crm.jobs import JobContext, job_handler

JOB_KIND = "campaigns.refresh_rollup"
_LOCK = 7_210_021  # pg_advisory_xact_lock key: one refresh at a time
_ROLLUP = CouponMonthRollup._meta.db_table
_COUPON = Coupon._meta.db_table
_MARK = CouponRollupMark._meta.db_table


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def month_of(moment: datetime) -> date:
    """The first day of ``moment``'s month in the group's zone."""
    return moment.astimezone(zone()).date().replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=zone())


def note_change(*, issued_at: datetime | None = None, redeemed_at: datetime | None = None) -> None:
    """Inside the writer's transaction: leave a mark for a month before the current one (the
    job looks at the current and previous months by itself). No query otherwise."""
    current = month_of(timezone.now())
    issued = month_of(issued_at) if issued_at is not None else None
    redeemed = month_of(redeemed_at) if redeemed_at is not None else None
    issued = issued if issued is not None and issued < current else None
    redeemed = redeemed if redeemed is not None and redeemed < current else None
    if issued is not None or redeemed is not None:
        CouponRollupMark.objects.create(issued_month=issued, redeemed_month=redeemed)


def is_before_this_month(moment: datetime) -> bool:
    return month_of(moment) < month_of(timezone.now())


_MONTH = "date_trunc('month', c.{column} AT TIME ZONE %(tz)s)::date"
_ISSUE_CELLS_SQL = f"""
    INSERT INTO {_ROLLUP} (template_id, business_unit_id, issued_month, redeemed_month,
                           redeemed_business_unit_id, issued, redeemed, discount, revenue)
    SELECT c.template_id, c.business_unit_id, {_MONTH.format(column="issued_at")}, NULL, NULL,
           count(*), 0, 0, 0
    FROM {_COUPON} c
    WHERE {{where}}
    GROUP BY 1, 2, 3
"""  # noqa: S608
_REDEMPTION_CELLS_SQL = f"""
    INSERT INTO {_ROLLUP} (template_id, business_unit_id, issued_month, redeemed_month,
                           redeemed_business_unit_id, issued, redeemed, discount, revenue)
    SELECT c.template_id, c.business_unit_id, {_MONTH.format(column="issued_at")},
           {_MONTH.format(column="redeemed_at")}, c.redeemed_business_unit_id,
           0, count(*), coalesce(sum(c.discount), 0), coalesce(sum(c.order_amount), 0)
    FROM {_COUPON} c
    WHERE c.status = 'redeemed' AND {{where}}
    GROUP BY 1, 2, 3, 4, 5
"""  # noqa: S608
# One month's coupons through the (unit, issued_at) and (redeemed unit, redeemed_at)
# indexes: every unit named, so that the range on the second column is used.
_ISSUED_IN = (
    "c.business_unit_id = ANY(%(units)s) AND c.issued_at >= %(lo)s AND c.issued_at < %(hi)s"
)
_REDEEMED_IN = (
    "c.redeemed_business_unit_id = ANY(%(units)s) AND c.redeemed_at >= %(lo)s "
    "AND c.redeemed_at < %(hi)s"
)


def _execute(sql: str, params: Any = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _unit_ids() -> list[int]:
    from crm.models import BusinessUnit

    return list(BusinessUnit.objects.values_list("pk", flat=True))


def _take_marks() -> tuple[set[date], set[date]]:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_MARK} RETURNING issued_month, redeemed_month")  # noqa: S608
        rows = cursor.fetchall()
    return {r[0] for r in rows if r[0]}, {r[1] for r in rows if r[1]}


def _recompute_month(kind: str, month: date, units: list[int]) -> None:
    params = {
        "tz": settings.TIME_ZONE,
        "units": units,
        "lo": month_start(month),
        "hi": month_start(next_month(month)),
        "month": month,
    }
    if kind == "issue":
        _execute(
            f"DELETE FROM {_ROLLUP} WHERE redeemed_month IS NULL AND issued_month = %(month)s",  # noqa: S608
            params,
        )
        _execute(_ISSUE_CELLS_SQL.format(where=_ISSUED_IN), params)
    else:
        _execute(f"DELETE FROM {_ROLLUP} WHERE redeemed_month = %(month)s", params)  # noqa: S608
        _execute(_REDEMPTION_CELLS_SQL.format(where=_REDEEMED_IN), params)


def refresh_rollup(
    *,
    full: bool = False,
    now: datetime | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, Any]:
    """Recompute the cells of the current and previous months and of every marked month
    (``full``, or never rebuilt yet: every cell, from the coupons alone), in one
    transaction: the figures are the coupons as of its start. Safe to run twice; concurrent
    runs wait for each other."""
    started = time.perf_counter()
    now = now or timezone.now()
    report = progress or (lambda percent, message: None)
    with transaction.atomic():
        _execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        as_of = now
        marked_issues, marked_redemptions = _take_marks()
        # Never rebuilt (coupons from before the rollup existed): every month, once.
        full = full or not CouponRollupState.objects.filter(rebuilt_at__isnull=False).exists()
        if full:
            report(5, _("Clearing the rollup"))
            _execute(f"DELETE FROM {_ROLLUP}")  # noqa: S608
            params = {"tz": settings.TIME_ZONE}
            report(10, _("Counting the coupons issued, month by month"))
            _execute(_ISSUE_CELLS_SQL.format(where="TRUE"), params)
            report(50, _("Summing the redemptions, month by month"))
            _execute(_REDEMPTION_CELLS_SQL.format(where="TRUE"), params)
            months = CouponMonthRollup.objects.values("issued_month").distinct().count()
        else:
            current = month_of(now)
            recent = {current, previous_month(current)}
            work = [("issue", m) for m in sorted(recent | marked_issues)] + [
                ("redemption", m) for m in sorted(recent | marked_redemptions)
            ]
            units = _unit_ids()
            for n, (kind, month) in enumerate(work):
                report(
                    100 * n / len(work), _("Recomputing %(month)s") % {"month": f"{month:%Y-%m}"}
                )
                _recompute_month(kind, month, units)
            months = len({m for _k, m in work})
        seconds = round(time.perf_counter() - started, 3)
        fields: dict[str, Any] = {"refreshed_at": as_of, "months": months, "seconds": seconds}
        if full:
            fields["rebuilt_at"] = as_of
        CouponRollupState.objects.update_or_create(pk=1, defaults=fields)
    return {"full": full, "months": months, "seconds": seconds, "as_of": as_of.isoformat()}


@job_handler(
    JOB_KIND,
    label=gettext_lazy("Refresh the coupon results rollup"),
    result_labels={
        "full": gettext_lazy("Rebuilt from scratch"),
        "months": gettext_lazy("Months recomputed"),
        "seconds": gettext_lazy("Seconds"),
        "as_of": gettext_lazy("Figures as of"),
    },
)
def refresh_rollup_job(ctx: JobContext) -> dict[str, Any]:
    ctx.progress(1, _("Recomputing the coupon results rollup"))
    return refresh_rollup(full=bool(ctx.params.get("full")), progress=ctx.progress)


def start_rollup_job(*, full: bool = False, user: Any = None) -> Any:
    from crm.services import start_job

    return start_job(kind=JOB_KIND, params={"full": full}, user=user)
