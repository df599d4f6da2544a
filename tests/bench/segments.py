"""Rule tags and segments (issue 20), each beside the bare SQL of the same work.

- ``segment_count``: a five-condition segment counted through ``crm.selectors.count_rule``
  (the compiled rule over the summary tables: lifecycle stage active or at risk in unit A,
  no transaction in unit B, net spend at least an amount, a person, with a mobile phone on
  record), its units and amount varied per iteration, beside the same count written by hand
  on the summary tables, on the per-unit rows' segment facts (``bare_sql_unit_row``: what the
  compiled rule reads since they exist) and on the raw tables (the floor the summary must
  beat; goal: p95 ≤ 300 ms); all four must give the same count.
- ``rule_tag_apply``: a rule tag ("three purchases or more in the last 365 days") applied from
  no link through ``crm.services.apply_tag_rule`` (one statement: match, insert, delete),
  then applied again (nothing to change), beside the hand-written insert/delete diff in one
  transaction; the links are cleared before every timed run and both sides must tag alike.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from crm import selectors, services
from crm.models import MetricsSettings, Tag, TagCategory
from tests.bench.measure import Series, compare, figure, rows, time_bare, time_orm

_PURCHASE = "t.kind = 'purchase' AND t.amount > 0 AND t.status <> 'refunded'"
SEGMENT_GOAL_MS = 300.0


# The same five conditions as the product's summary-table rule, on the raw tables: the
# customer's purchases in unit A aggregated per customer (first and last day in the group's
# time zone), no transaction at all in unit B, net spend over every transaction.
_RAW_SUMMARY_SQL = """
SELECT count(*) FROM crm_customer c
WHERE c.merged_into_id IS NULL AND c.kind = 'person'
  AND EXISTS (SELECT 1 FROM crm_identity i WHERE i.customer_id = c.id AND i.type = 'mobile')
  AND NOT EXISTS (SELECT 1 FROM crm_transaction t WHERE t.customer_id = c.id
                  AND t.business_unit_id = %(never)s AND t.occurred_at < %(end)s)
  AND (SELECT coalesce(sum(t.amount), 0) FROM crm_transaction t WHERE t.customer_id = c.id
       AND t.occurred_at < %(end)s) >= %(spend)s
  AND EXISTS (
      SELECT 1 FROM (
          SELECT min((t.occurred_at AT TIME ZONE %(tz)s)::date) AS first_day,
                 max((t.occurred_at AT TIME ZONE %(tz)s)::date) AS last_day
          FROM crm_transaction t
          WHERE t.customer_id = c.id AND t.business_unit_id = %(bought)s
            AND t.kind = 'purchase' AND t.amount > 0 AND t.status <> 'refunded'
            AND t.occurred_at < %(end)s
      ) p
      WHERE %(as_of)s::date - p.first_day > %(new_days)s
        AND %(as_of)s::date - p.last_day <= %(at_risk_days)s)
"""

# The same count written by hand on the summary tables.
_SUMMARY_SQL = """
SELECT count(*) FROM crm_customer c
JOIN crm_customerunitmetrics a ON a.customer_id = c.id AND a.business_unit_id = %(bought)s
JOIN crm_customermetrics m ON m.customer_id = c.id
WHERE c.merged_into_id IS NULL AND c.kind = 'person'
  AND a.lifecycle_stage IN ('active', 'at_risk') AND m.monetary >= %(spend)s
  AND NOT EXISTS (SELECT 1 FROM crm_customerunitmetrics b
                  WHERE b.customer_id = c.id AND b.business_unit_id = %(never)s)
  AND EXISTS (SELECT 1 FROM crm_identity i WHERE i.customer_id = c.id AND i.type = 'mobile')
"""

# The same count written by hand on the per-unit rows' segment facts (crm/METRICS.md, "Segment
# facts in the per-unit rows"): what the compiled rule now reads.
_UNIT_ROW_SQL = """
SELECT count(*) FROM crm_customerunitmetrics a
JOIN crm_customer c ON c.id = a.customer_id
WHERE a.business_unit_id = %(bought)s AND a.lifecycle_stage IN ('active', 'at_risk')
  AND a.customer_monetary >= %(spend)s AND a.customer_kind = 'person'
  AND a.customer_mobiles > 0 AND NOT (%(never)s = ANY(a.customer_units))
  AND c.merged_into_id IS NULL
"""


def _units(ctx: Any) -> list[int]:
    return [r[0] for r in rows(ctx.conn, "SELECT id FROM crm_businessunit ORDER BY id")]


def _segment_rule(bought: int, never: int, spend: int) -> dict[str, Any]:
    """Active or at risk in unit A, never dealt with unit B, net spend at least ``spend``, a
    person, with a mobile phone: three conditions on the metrics rows, two on the master."""
    return {
        "all": [
            {
                "field": "metrics.lifecycle_stage",
                "op": "in",
                "value": ["active", "at_risk"],
                "params": {"unit": bought},
            },
            {"field": "metrics.frequency", "op": "is_empty", "params": {"unit": never}},
            {"field": "metrics.monetary", "op": "gte", "value": str(spend)},
            {"field": "customer.kind", "op": "in", "value": ["person"]},
            {"field": "customer.identities", "op": "has_any", "value": ["mobile"]},
        ]
    }


def segment_count(ctx: Any) -> dict[str, Any]:
    """The rule counted through the summary tables, beside the same count on the raw tables
    (the floor the summary must beat) and written by hand on the summary tables."""
    config = MetricsSettings.current()
    last = rows(ctx.conn, "SELECT max(as_of) FROM crm_customermetrics")[0][0]
    if last is None:
        raise SystemExit("no customer metrics: run metrics_recompute first")
    rng = random.Random(f"{ctx.cfg.seed}-segments")
    units = _units(ctx)
    zone = ZoneInfo(settings.TIME_ZONE)
    inputs = []
    for _ in range(max(3, ctx.cfg.iterations)):
        bought, never = rng.sample(units, 2)
        inputs.append((bought, never, rng.choice([100, 500, 1000, 5000])))

    def params(x: tuple[int, int, int]) -> dict[str, Any]:
        return {
            "bought": x[0],
            "never": x[1],
            "spend": x[2],
            "tz": settings.TIME_ZONE,
            "as_of": last,
            "end": datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone),
            "new_days": config.new_days,
            "at_risk_days": config.at_risk_days,
        }

    def ours(x: tuple[int, int, int]) -> int:
        return selectors.count_rule(_segment_rule(*x))

    def summary(x: tuple[int, int, int]) -> int:
        return rows(ctx.conn, _SUMMARY_SQL, params(x))[0][0]

    def raw(x: tuple[int, int, int]) -> int:
        return rows(ctx.conn, _RAW_SUMMARY_SQL, params(x))[0][0]

    def unit_row(x: tuple[int, int, int]) -> int:
        return rows(ctx.conn, _UNIT_ROW_SQL, params(x))[0][0]

    checked = inputs[:3]
    same = all(ours(x) == summary(x) == raw(x) == unit_row(x) for x in checked)
    product, floor = compare(inputs, ours, summary)
    unit_row_series = Series()
    for x in inputs:
        time_bare(lambda x=x: unit_row(x), unit_row_series)
    raw_series = Series()
    for x in inputs[: max(3, min(20, len(inputs)))]:
        time_bare(lambda x=x: raw(x), raw_series)
    found = figure(
        "A 5-condition segment (stage in unit A, never in unit B, net spend, person, mobile) "
        "counted through the summary tables (compiled rule), beside the same count written "
        "by hand on them (bare_sql) and on the raw tables (raw_tables)",
        product,
        floor,
        same_result=same,
        checked_inputs=len(checked),
        example_count=summary(inputs[0]),
        raw_tables=raw_series.stats(),
        bare_sql_unit_row=unit_row_series.stats(),
        goal_p95_ms=SEGMENT_GOAL_MS,
    )
    found["ratio_to_raw_p95"] = (
        round(found["product"]["p95_ms"] / found["raw_tables"]["p95_ms"], 3)
        if found["raw_tables"]["p95_ms"]
        else None
    )
    found["goal_met"] = found["product"]["p95_ms"] <= SEGMENT_GOAL_MS
    return found


_APPLY_BARE = f"""
WITH matched AS (
    SELECT c.id FROM crm_customer c
    WHERE c.merged_into_id IS NULL
      AND (SELECT count(*) FROM crm_transaction t WHERE t.customer_id = c.id
           AND {_PURCHASE} AND t.occurred_at >= %(since)s) >= 3
),
added AS (
    INSERT INTO crm_customertag (customer_id, tag_id, set_by_id, rule, created_at)
    SELECT m.id, %(tag)s, NULL, %(key)s, %(now)s FROM matched m
    ON CONFLICT (customer_id, tag_id) DO NOTHING RETURNING customer_id
),
removed AS (
    DELETE FROM crm_customertag ct WHERE ct.tag_id = %(tag)s AND ct.rule = %(key)s
      AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.id = ct.customer_id)
    RETURNING customer_id
)
SELECT (SELECT count(*) FROM matched), (SELECT count(*) FROM added), (SELECT count(*) FROM removed)
"""


def rule_tag_apply(ctx: Any) -> dict[str, Any]:
    category, _ = TagCategory.objects.get_or_create(name="基准规则", defaults={"color": "cyan"})
    tag, _ = Tag.objects.get_or_create(category=category, name="近一年三次以上购买")
    rule = services.save_tag_rule(
        tag=tag,
        rule={"field": "purchases.count", "op": "gte", "value": 3, "params": {"days": 365}},
    )
    runs = max(2, min(5, ctx.cfg.iterations))
    product, again, floor = Series(), Series(), Series()
    now = timezone.now()
    counts: dict[str, set[int]] = {"product": set(), "bare": set()}

    def clear() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM crm_customertag WHERE tag_id = %s", [tag.pk])

    for _ in range(runs):
        clear()
        outcome = time_orm(lambda: services.apply_tag_rule(tag_rule=rule, now=now), product)
        counts["product"].add(outcome.added)
        repeat = time_orm(lambda: services.apply_tag_rule(tag_rule=rule, now=now), again)
        assert (repeat.added, repeat.removed) == (0, 0), repeat
        clear()
        params = {"since": now - timedelta(days=365), "tag": tag.pk, "key": rule.key, "now": now}
        result = time_bare(lambda p=params: rows(ctx.conn, _APPLY_BARE, p), floor)
        counts["bare"].add(result[0][1])
    clear()
    return figure(
        "A rule tag applied from no link (match into a keyed temporary table, insert, delete) "
        "beside the hand-written diff in one statement",
        product,
        floor,
        rerun_idempotent=again.stats(),
        tagged=sorted(counts["product"]),
        same_result=counts["product"] == counts["bare"],
    )
