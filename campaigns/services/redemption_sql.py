"""The two statements of a redemption's usual path (see ``redemption.redeem_coupon``).

``read`` — one ``SELECT``: the coupon by code with its template, its issuing unit and the unit
that redeemed it (if any), whether the redeeming unit may redeem it, whether its owner is
blacklisted, whether the unit's reference was already used (by a redemption or a reversal),
and the template's funding shares with this month's statement of each (funder → redeeming
unit) pair.

``write`` — one statement, atomic on its own: the conditional ``UPDATE … WHERE status =
'issued'`` of the coupon (validity and blacklist re-checked in its ``WHERE``), and, only if it
changed the row, the settlement lines and the timeline event, as data-modifying ``WITH``
clauses of the same statement. A concurrent redemption of the same code waits for the row
lock, re-reads the row and finds it redeemed: nothing is written, and the caller reads again
to say when and where.

No counter row is shared by redemptions: the lines reference the month's statement (created
once per pair and month, before this statement and in one transaction with it, undone when
it changes nothing: a lost race leaves no empty statement) and nothing sums them here.

Both statements are prepared once per connection (``crm.prepared``): planning them took
most of the database's time of a redemption (0.4 ms each, against 0.1 ms to run the read),
and the bare-SQL figure of these two statements went from 0.23–0.32 to 0.57–0.62 of the
conditional-``UPDATE`` floor (tests/bench/README.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model

from campaigns.models import Coupon, CouponReversal, CouponStatus, CouponTemplate, TemplateFunding
from crm.models import BlacklistEntry, BusinessUnit, TimelineEvent
from crm.models.blacklist import BINDING_STATUSES
from crm.models.settlement import SettlementLine, SettlementStatement
from crm.prepared import prepared_cursor


def _columns(model: type[Model], alias: str, names: tuple[str, ...] | None = None) -> str:
    fields = [f for f in model._meta.concrete_fields if names is None or f.attname in names]
    return ", ".join(f'{alias}."{f.column}"' for f in fields)


def _quoted(values: tuple[str, ...]) -> str:
    """Constants of the code (statuses), written into the statement."""
    assert all(v.isidentifier() for v in values)
    return ", ".join(f"'{v}'" for v in values)


# What is read of the units (the rest deferred): the codes the API answers, the name a
# refusal gives. The coupon and its template are read whole (the desk shows the terms).
UNIT_FIELDS = ("id", "code", "name")
TEMPLATE_FIELDS = tuple(f.attname for f in CouponTemplate._meta.concrete_fields)
COUPON_FIELDS = tuple(f.attname for f in Coupon._meta.concrete_fields)
BLACKLISTED = f"""EXISTS (SELECT 1 FROM {BlacklistEntry._meta.db_table} b
                WHERE b.customer_id = c.customer_id
                  AND b.status IN ({_quoted(tuple(BINDING_STATUSES))}))"""  # noqa: S608


@cache
def _read_sql() -> str:
    redeemable = CouponTemplate.redeemable_units.through._meta.db_table
    # The parameters, each bound once, in a subquery PostgreSQL pulls up into constants.
    return f"""
SELECT {_columns(Coupon, "c")}, {_columns(CouponTemplate, "t")},
       {_columns(BusinessUnit, "i", UNIT_FIELDS)}, {_columns(BusinessUnit, "u", UNIT_FIELDS)},
       EXISTS (SELECT 1 FROM {redeemable} r
               WHERE r.coupontemplate_id = c.template_id AND r.businessunit_id = p.unit),
       {BLACKLISTED},
       EXISTS (SELECT 1 FROM {Coupon._meta.db_table} x
               WHERE x.redeemed_business_unit_id = p.unit AND x.redemption_reference = p.reference)
       OR EXISTS (SELECT 1 FROM {CouponReversal._meta.db_table} v
                  WHERE v.business_unit_id = p.unit AND v.redemption_reference = p.reference),
       (SELECT json_agg(json_build_array(f.business_unit_id, f.share::text, s.id)
                        ORDER BY f.share DESC, f.business_unit_id)
          FROM {TemplateFunding._meta.db_table} f
          LEFT JOIN {SettlementStatement._meta.db_table} s
                 ON s.month = p.month AND s.debtor_id = f.business_unit_id
                AND s.creditor_id = p.unit
         WHERE f.template_id = c.template_id)
FROM (SELECT %(code)s::text AS code, %(unit)s::bigint AS unit, %(reference)s::text AS reference,
             %(month)s::date AS month) AS p
JOIN {Coupon._meta.db_table} c ON c.code = p.code
JOIN {CouponTemplate._meta.db_table} t ON t.id = c.template_id
JOIN {BusinessUnit._meta.db_table} i ON i.id = c.business_unit_id
LEFT JOIN {BusinessUnit._meta.db_table} u ON u.id = c.redeemed_business_unit_id
"""  # noqa: S608 (table and column names from the models, values bound)


@cache
def _write_sql() -> str:
    issued, redeemed = (
        _quoted((CouponStatus.ISSUED.value,)),
        _quoted((CouponStatus.REDEEMED.value,)),
    )
    return f"""
WITH coupon AS (
    UPDATE {Coupon._meta.db_table} c
       SET status = {redeemed}, redeemed_business_unit_id = p.unit, redeemed_at = p.now,
           redemption_reference = p.reference, order_amount = p.amount, discount = p.discount,
           redeemed_by_id = p.actor
      FROM (SELECT %(id)s::bigint AS id, %(unit)s::bigint AS unit, %(now)s::timestamptz AS now,
                   %(reference)s::text AS reference, %(amount)s::numeric AS amount,
                   %(discount)s::numeric AS discount, %(actor)s::bigint AS actor) AS p
     WHERE c.id = p.id AND c.status = {issued} AND c.valid_from <= p.now AND c.valid_until > p.now
       AND NOT {BLACKLISTED}
    RETURNING c.customer_id, p.unit, p.now, p.actor
), lines AS (
    INSERT INTO {SettlementLine._meta.db_table}
           (statement_id, debtor_id, creditor_id, amount, currency, points, source_kind,
            source_reference, created_at)
    SELECT l.statement_id, l.debtor_id, coupon.unit, l.amount, %(currency)s, 0, %(source)s,
           l.reference, coupon.now
      FROM coupon, jsonb_to_recordset(%(lines)s::jsonb)
           AS l(statement_id bigint, debtor_id bigint, amount numeric, reference text)
    RETURNING id
), event AS (
    INSERT INTO {TimelineEvent._meta.db_table}
           (customer_id, business_unit_id, type, actor_id, occurred_at, summary, data)
    SELECT coupon.customer_id, coupon.unit, %(type)s, coupon.actor, coupon.now, %(summary)s,
           %(data)s::jsonb
      FROM coupon
    RETURNING id
)
SELECT (SELECT id FROM event), (SELECT count(*) FROM lines)
"""  # noqa: S608 (table names from the models, values bound)


@dataclass
class Found:
    coupon: Coupon
    redeemable_here: bool
    blacklisted: bool
    reference_used: bool
    # (funding unit, share in percent, this month's statement to the redeeming unit or None)
    funding: list[tuple[int, Decimal, int | None]]


def read(code: str, unit_id: int, reference: str, month: date) -> Found | None:
    """What the redemption of ``code`` at ``unit_id`` decides on, in one query (``None``: no
    coupon has this code)."""
    with prepared_cursor() as cursor:
        cursor.execute(
            _read_sql(),
            {
                "code": code,
                "unit": unit_id,
                "reference": reference,
                "month": month,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    at = len(Coupon._meta.concrete_fields)
    coupon: Coupon = Coupon.from_db(connection.alias, COUPON_FIELDS, row[:at])
    coupon.template = CouponTemplate.from_db(
        connection.alias, TEMPLATE_FIELDS, row[at : at + len(TEMPLATE_FIELDS)]
    )
    at += len(TEMPLATE_FIELDS)
    units = []
    for _unit in range(2):
        values = row[at : at + len(UNIT_FIELDS)]
        units.append(
            None
            if values[0] is None
            else BusinessUnit.from_db(connection.alias, UNIT_FIELDS, values)
        )
        at += len(UNIT_FIELDS)
    coupon.business_unit = units[0]  # type: ignore[assignment]
    coupon.redeemed_business_unit = units[1]
    here, blacklisted, used, funding = row[at:]
    return Found(
        coupon=coupon,
        redeemable_here=bool(here),
        blacklisted=bool(blacklisted),
        reference_used=bool(used),
        funding=[(int(u), Decimal(share), s) for u, share, s in (funding or [])],
    )


def write(
    *,
    coupon: Coupon,
    unit_id: int,
    reference: str,
    amount: Decimal,
    discount: Decimal,
    now: datetime,
    actor_id: int | None,
    lines: list[tuple[int, int, Decimal, str]],
    event_type: str,
    summary: str,
    data: dict[str, Any],
    source_kind: str,
) -> int | None:
    """Redeem ``coupon`` if it is still issued, with its settlement ``lines`` ((statement,
    debtor, amount, reference), owed to ``unit_id``) and its timeline event, in one
    statement. The event's id, or ``None`` when the coupon was no longer redeemable."""
    with prepared_cursor() as cursor:
        cursor.execute(
            _write_sql(),
            {
                "id": coupon.pk,
                "unit": unit_id,
                "reference": reference,
                "amount": amount,
                "discount": discount,
                "now": now,
                "actor": actor_id,
                "currency": coupon.template.currency,
                "source": source_kind,
                "lines": json.dumps(
                    [
                        {"statement_id": s, "debtor_id": d, "amount": str(a), "reference": r}
                        for s, d, a, r in lines
                    ]
                ),
                "type": event_type,
                "summary": summary[:300],
                "data": json.dumps(data),
            },
        )
        event_id, _written = cursor.fetchone()
    return None if event_id is None else int(event_id)
