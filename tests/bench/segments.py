"""Rule tags and segments (issue 20), each beside the bare SQL of the same work.

- ``segment_count``: a five-condition segment counted through ``crm.selectors.count_rule``
  (the compiled rule: bought in unit A in the last 365 days, never in unit B, net spend in
  the window at least an amount, a person, with a mobile phone on record), its units and
  amount varied per iteration, beside one hand-written ``SELECT count(*)`` of the same
  conditions; both must give the same count.
- ``rule_tag_apply``: a rule tag ("three purchases or more in the last 365 days") applied from
  no link through ``crm.services.apply_tag_rule`` (one statement: match, insert, delete),
  then applied again (nothing to change), beside the hand-written insert/delete diff in one
  transaction; the links are cleared before every timed run and both sides must tag alike.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from crm import selectors, services
from crm.models import Tag, TagCategory
from tests.bench.measure import Series, compare, figure, rows, time_bare, time_orm

_PURCHASE = "t.kind = 'purchase' AND t.amount > 0 AND t.status <> 'refunded'"
_COUNT_SQL = f"""
SELECT count(*) FROM crm_customer c
WHERE c.merged_into_id IS NULL AND c.kind = 'person'
  AND EXISTS (SELECT 1 FROM crm_transaction t WHERE t.customer_id = c.id
              AND t.business_unit_id = %(bought)s AND {_PURCHASE} AND t.occurred_at >= %(since)s)
  AND NOT EXISTS (SELECT 1 FROM crm_transaction t WHERE t.customer_id = c.id
                  AND t.business_unit_id = %(never)s AND {_PURCHASE})
  AND (SELECT COALESCE(sum(t.amount), 0) FROM crm_transaction t WHERE t.customer_id = c.id
       AND t.currency = 'CNY' AND t.occurred_at >= %(since)s) >= %(spend)s
  AND EXISTS (SELECT 1 FROM crm_identity i WHERE i.customer_id = c.id AND i.type = 'mobile')
"""


YEAR = {"days": 365}


def _units(ctx: Any) -> list[int]:
    return [r[0] for r in rows(ctx.conn, "SELECT id FROM crm_businessunit ORDER BY id")]


def _segment_rule(bought: int, never: int, spend: int) -> dict[str, Any]:
    return {
        "all": [
            {"field": "purchases.units", "op": "has_any", "value": [bought], "params": YEAR},
            {"field": "purchases.units", "op": "has_none", "value": [never]},
            {"field": "purchases.spend", "op": "gte", "value": str(spend), "params": YEAR},
            {"field": "customer.kind", "op": "in", "value": ["person"]},
            {"field": "customer.identities", "op": "has_any", "value": ["mobile"]},
        ]
    }


def segment_count(ctx: Any) -> dict[str, Any]:
    rng = random.Random(f"{ctx.cfg.seed}-segments")
    units = _units(ctx)
    now = timezone.now()
    inputs = []
    for _ in range(max(3, ctx.cfg.iterations)):
        bought, never = rng.sample(units, 2)
        inputs.append((bought, never, rng.choice([100, 500, 1000, 5000])))
    same = True

    def ours(x: tuple[int, int, int]) -> int:
        return selectors.count_rule(_segment_rule(*x), now=now)

    def bare(x: tuple[int, int, int]) -> int:
        params = {"bought": x[0], "never": x[1], "spend": x[2], "since": now - timedelta(days=365)}
        return rows(ctx.conn, _COUNT_SQL, params)[0][0]

    for x in inputs[:3]:
        same = same and ours(x) == bare(x)
    product, floor = compare(inputs, ours, bare)
    return figure(
        "A 5-condition segment counted (compiled rule) beside one hand-written count",
        product,
        floor,
        same_result=same,
        example_count=bare(inputs[0]),
    )


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
