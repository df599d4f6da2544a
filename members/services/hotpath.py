"""The SQL of the two requests POS systems send all day: earn and redeem, in two statements
each (plus ``BEGIN``/``COMMIT``).

Why SQL here and the ORM elsewhere: at 16 concurrent connections on the 2-core bench machine
the ORM version (11–14 round trips and ~6 ms of Python per request, every one made while the
member's row lock was held) reached 19–85 requests/s against 1,300–1,500 for the bare-SQL
ledger floor (``tests/bench/README.md``, "B2C members"). Every round trip inside the
transaction lengthens the time the member stays locked, and the Python between them runs
under the GIL of the caller's process. So:

1. ``lock_for_points``: the member's row, locked (``FOR UPDATE``), with what does not depend
   on that lock in sub-selects of the same statement: whether the customer is blacklisted, its
   birthday, the unit's earning rule and the level ladder. What the lock protects (the
   member's entries and lots) is NOT read here: a row re-read after waiting for the lock keeps
   the statement's earlier snapshot in its sub-selects, so they could miss the writes of the
   transaction we waited for.
2. one data-modifying statement (``_EARN_SQL`` / ``_REDEEM_SQL``) that reads the protected rows
   with a fresh snapshot (after the lock) and writes everything: the entries, the lot (earn) or
   the FIFO consumption of the lots, set-based (redeem), the consumptions, the settlement
   lines, the balance and the timeline event. A replayed reference writes nothing (the
   ``NOT EXISTS`` on the reference, with the unique constraint as the backstop); the caller
   then reads the earlier entries (``replayed``) on that rare path only.

The invariants stay where they were: the member's row lock orders every movement, the balance
row is updated in the same transaction as the entries (CHECK ≥ 0), lots keep 0 ≤ remaining ≤
amount (CHECK), entries are only inserted (the trigger refuses the rest).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from crm.models import TimelineEvent
from crm.models.blacklist import BINDING_STATUSES
from crm.registry import notify_event_recorded
from members.models import EarningRule, EntryKind, Level, Member, PointsEntry

_MEMBER_COLUMNS = [f.column for f in Member._meta.concrete_fields]
_MEMBER_ATTNAMES = [f.attname for f in Member._meta.concrete_fields]

_LOCK_SQL = f"""
SELECT {", ".join(f"m.{c}" for c in _MEMBER_COLUMNS)},
       EXISTS (SELECT 1 FROM crm_blacklistentry b
               WHERE b.customer_id = m.customer_id AND b.status = ANY(%(binding)s)) AS blacklisted,
       (SELECT c.birthday FROM crm_customer c WHERE c.id = m.customer_id) AS birthday,
       (SELECT json_build_object(
                   'id', r.id, 'points_per_unit', r.points_per_unit::text, 'rounding', r.rounding,
                   'cap_per_transaction', r.cap_per_transaction, 'cap_per_day', r.cap_per_day,
                   'validity_months', r.validity_months,
                   'birthday_multiplier', r.birthday_multiplier::text,
                   'first_purchase_bonus', r.first_purchase_bonus)::text
        FROM members_earningrule r
        WHERE %(rule)s AND r.business_unit_id = %(unit)s AND r.is_active) AS rule,
       (SELECT json_agg(json_build_object(
                   'id', l.id, 'code', l.code, 'name', l.name, 'rank', l.rank, 'basis', l.basis,
                   'threshold', l.threshold::text, 'window_months', l.window_months,
                   'multiplier', l.multiplier::text, 'benefits', l.benefits) ORDER BY l.rank)::text
        FROM members_level l WHERE %(rule)s) AS ladder
FROM members_member m
WHERE m.id = %(member)s
FOR UPDATE OF m
"""  # noqa: S608 (column names from the model; values are bound)

_ENTRY_COLUMNS = (
    "member_id, customer_id, business_unit_id, kind, points, unrecovered, spend, reason, "
    "reference, order_reference, actor_id, created_at"
)

_EARN_SQL = f"""
WITH today AS (
    SELECT coalesce(sum(points), 0) AS points FROM members_pointsentry
    WHERE %(cap)s::int IS NOT NULL AND member_id = %(member)s AND business_unit_id = %(unit)s
      AND kind = 'earn' AND created_at >= %(day)s AND reference = order_reference
), calc AS (
    SELECT CASE WHEN %(cap)s::int IS NULL THEN %(base)s::int
                ELSE greatest(0, least(%(base)s::int, %(cap)s::int - (SELECT points FROM today)))
           END AS main,
           CASE WHEN %(bonus)s::int > 0 AND NOT EXISTS (
                    SELECT 1 FROM members_pointsentry
                    WHERE member_id = %(member)s AND business_unit_id = %(unit)s
                      AND kind = 'earn' AND order_reference <> '')
                THEN %(bonus)s::int ELSE 0 END AS bonus,
           NOT EXISTS (SELECT 1 FROM members_pointsentry
                       WHERE business_unit_id = %(unit)s AND kind = 'earn'
                         AND reference IN (%(reference)s, %(bonus_reference)s)) AS fresh
), ins AS (
    INSERT INTO members_pointsentry ({_ENTRY_COLUMNS})
    SELECT %(member)s, %(customer)s, %(unit)s, 'earn', v.points, 0, v.spend, v.reason,
           v.reference, %(reference)s, %(actor)s, %(now)s
    FROM calc CROSS JOIN LATERAL (VALUES
        (1, calc.main, %(spend)s::numeric, 'purchase', %(reference)s::varchar),
        (2, calc.bonus, 0::numeric, 'first', %(bonus_reference)s::varchar)
    ) AS v(position, points, spend, reason, reference)
    WHERE calc.fresh AND v.points > 0
    ORDER BY v.position
    ON CONFLICT DO NOTHING
    RETURNING id, points, reason
), lot AS (
    INSERT INTO members_pointslot (member_id, customer_id, funding_business_unit_id, entry_id,
                                   amount, remaining, earned_at, expires_at, order_reference)
    SELECT %(member)s, %(customer)s, %(unit)s, id, points, points, %(now)s, %(expires)s,
           %(reference)s
    FROM ins
), total AS (
    SELECT coalesce(sum(points), 0)::int AS points, count(*) AS n FROM ins
), bal AS (
    UPDATE members_member m SET points_balance = m.points_balance + total.points
    FROM total WHERE m.id = %(member)s AND total.n > 0
    RETURNING m.points_balance
), ev AS (
    INSERT INTO crm_timelineevent (customer_id, business_unit_id, type, actor_id, occurred_at,
                                   summary, data)
    SELECT %(customer)s, %(unit)s, %(event)s, %(actor)s, %(now)s,
           '+' || total.points || ' points',
           jsonb_build_object('points', total.points, 'reference', %(reference)s::text,
                              'amount', %(amount)s::text)
    FROM total WHERE total.n > 0
    RETURNING id
), measures AS (
    SELECT coalesce(array_agg(ARRAY[coalesce(s.points, 0), coalesce(s.spend, 0)]
                              ORDER BY w.i), '{{}}') AS pairs
    FROM unnest(%(starts)s::timestamptz[]) WITH ORDINALITY AS w(start, i)
    CROSS JOIN LATERAL (
        SELECT sum(points) FILTER (WHERE kind IN ('earn', 'reverse'))::numeric AS points,
               sum(spend) AS spend
        FROM members_pointsentry
        WHERE member_id = %(member)s AND created_at > w.start
    ) AS s
)
SELECT calc.main + calc.bonus,
       (SELECT json_agg(json_build_object('id', id, 'points', points, 'reason', reason)
                        ORDER BY id) FROM ins),
       (SELECT points_balance FROM bal),
       (SELECT id FROM ev),
       measures.pairs
FROM calc, measures
"""  # noqa: S608 (a constant)

_REDEEM_SQL = f"""
WITH open AS (
    SELECT id, funding_business_unit_id AS unit, remaining, earned_at, expires_at
    FROM members_pointslot
    WHERE member_id = %(member)s AND remaining > 0
    ORDER BY earned_at, id
    FOR UPDATE
), usable AS (
    SELECT id, unit, remaining, sum(remaining) OVER (ORDER BY earned_at, id) AS upto
    FROM open WHERE expires_at > %(now)s
), due AS (
    SELECT id, unit, remaining FROM open WHERE expires_at <= %(now)s
), go AS (
    SELECT coalesce((SELECT sum(remaining) FROM usable), 0)::int AS available,
           NOT EXISTS (SELECT 1 FROM members_pointsentry
                       WHERE business_unit_id = %(unit)s AND kind = 'redeem'
                         AND reference = %(reference)s) AS fresh
), red AS (
    INSERT INTO members_pointsentry ({_ENTRY_COLUMNS})
    SELECT %(member)s, %(customer)s, %(unit)s, 'redeem', -%(points)s::int, 0, 0, %(reason)s,
           %(reference)s, '', %(actor)s, %(now)s
    FROM go WHERE go.fresh AND go.available >= %(points)s::int
    ON CONFLICT DO NOTHING
    RETURNING id
), take AS (
    SELECT u.id, u.unit, least(u.remaining, %(points)s::int - (u.upto - u.remaining))::int AS n
    FROM usable u
    WHERE u.upto - u.remaining < %(points)s::int AND EXISTS (SELECT 1 FROM red)
), exp AS (
    INSERT INTO members_pointsentry ({_ENTRY_COLUMNS})
    SELECT %(member)s, %(customer)s, d.unit, 'expire', -d.remaining, 0, 0, 'expired',
           'lot:' || d.id, '', NULL, %(now)s
    FROM due d WHERE EXISTS (SELECT 1 FROM red)
    RETURNING id, reference, points
), upd AS (
    UPDATE members_pointslot l SET remaining = l.remaining - x.n
    FROM (SELECT id, n FROM take
          UNION ALL
          SELECT id, remaining FROM due WHERE EXISTS (SELECT 1 FROM red)) AS x
    WHERE l.id = x.id
), cons AS (
    INSERT INTO members_lotconsumption (entry_id, lot_id, points, created_at)
    SELECT red.id, take.id, take.n, %(now)s FROM red, take
    UNION ALL
    SELECT exp.id, substr(exp.reference, 5)::bigint, -exp.points, %(now)s FROM exp
), val AS (
    SELECT coalesce((SELECT value FROM members_pointvalue WHERE valid_from <= %(day)s
                     ORDER BY valid_from DESC LIMIT 1), 0) AS value
), lines AS (
    INSERT INTO crm_settlementline (statement_id, debtor_id, creditor_id, amount, currency,
                                    points, source_kind, source_reference, created_at)
    SELECT s.id, t.unit, %(unit)s, round(val.value * t.n, 2), 'CNY', t.n, 'points',
           'entry:' || red.id || ':lot:' || t.id, %(now)s
    FROM red, val, take t
    JOIN crm_settlementstatement s
      ON s.month = %(month)s AND s.debtor_id = t.unit AND s.creditor_id = %(unit)s
    WHERE t.unit <> %(unit)s
), bal AS (
    UPDATE members_member
    SET points_balance = points_balance - %(points)s::int
                         - coalesce((SELECT sum(remaining) FROM due), 0)
    WHERE id = %(member)s AND EXISTS (SELECT 1 FROM red)
    RETURNING points_balance
), ev AS (
    INSERT INTO crm_timelineevent (customer_id, business_unit_id, type, actor_id, occurred_at,
                                   summary, data)
    SELECT %(customer)s, %(unit)s, %(event)s, %(actor)s, %(now)s,
           '-' || %(points)s::int || ' points',
           jsonb_build_object('points', %(points)s::int, 'reference', %(reference)s::text)
    FROM red
    RETURNING id
)
SELECT go.available, go.fresh, (SELECT id FROM red), (SELECT points_balance FROM bal),
       (SELECT id FROM ev),
       (SELECT json_agg(json_build_object('lot', t.id, 'unit', t.unit, 'points', t.n))
        FROM take t
        WHERE t.unit <> %(unit)s AND EXISTS (SELECT 1 FROM red)
          AND NOT EXISTS (SELECT 1 FROM crm_settlementstatement s
                          WHERE s.month = %(month)s AND s.debtor_id = t.unit
                            AND s.creditor_id = %(unit)s)) AS unsettled
FROM go
"""  # noqa: S608 (a constant)

# One line each: psycopg caches the parsing of a statement's placeholders only up to 4,096
# bytes (``MAX_CACHED_STATEMENT_LENGTH``), and the redeem's indentation is close to that.
_LOCK_SQL, _EARN_SQL, _REDEEM_SQL = (
    re.sub(r"\s+", " ", sql).strip() for sql in (_LOCK_SQL, _EARN_SQL, _REDEEM_SQL)
)


@dataclass
class Locked:
    """The locked member and the lock-independent reads of the same statement. ``ladder``:
    the levels by rank as plain data (``level()`` makes a ``Level`` of one, when needed)."""

    member: Member
    blacklisted: bool
    birthday: date | None
    rule: EarningRule | None
    ladder: list[dict[str, Any]]


def lock_for_points(member_id: int, *, unit_id: int, with_rule: bool) -> Locked | None:
    """Lock the member's row (one statement); ``None`` when there is no such member. The
    caller follows ``member.merged_into_id`` (a merged member's points live on the
    survivor). ``with_rule``: also read the unit's earning rule and the level ladder."""
    with connection.cursor() as cursor:
        cursor.execute(
            _LOCK_SQL,
            {
                "member": member_id,
                "unit": unit_id,
                "rule": with_rule,
                "binding": [str(s) for s in BINDING_STATUSES],
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(_MEMBER_ATTNAMES)
    member = Member.from_db(connection.alias, _MEMBER_ATTNAMES, row[:n])
    blacklisted, birthday, rule, ladder = row[n:]
    levels = json.loads(ladder) if ladder else []
    current = next((data for data in levels if data["id"] == member.level_id), None)
    member.level = level(current) if current is not None else None
    rule = _rule(json.loads(rule), unit_id) if rule else None
    return Locked(member, bool(blacklisted), birthday, rule, levels)


def level(data: dict[str, Any]) -> Level:
    """A ``Level`` of the ladder's data (as stored: no query)."""
    made = Level(
        **{
            **data,
            "threshold": Decimal(data["threshold"]),
            "multiplier": Decimal(data["multiplier"]),
        }
    )
    made._state.adding, made._state.db = False, connection.alias
    return made


def _rule(data: dict[str, Any], unit_id: int) -> EarningRule:
    rule = EarningRule(
        **{
            **data,
            "business_unit_id": unit_id,
            "points_per_unit": Decimal(data["points_per_unit"]),
            "birthday_multiplier": Decimal(data["birthday_multiplier"]),
        }
    )
    rule._state.adding, rule._state.db = False, connection.alias
    return rule


def _entry(member: Member, **values: Any) -> PointsEntry:
    entry = PointsEntry(
        member_id=member.pk, customer_id=member.customer_id, unrecovered=0, **values
    )
    entry._state.adding, entry._state.db = False, connection.alias
    return entry


def _announce(event_id: int | None, member: Member, **values: Any) -> None:
    """The timeline's hooks see the event the statement inserted, as ``record_event`` would
    have shown it to them."""
    if event_id is None:
        return
    event = TimelineEvent(id=event_id, customer_id=member.customer_id, **values)
    event._state.adding, event._state.db = False, connection.alias
    notify_event_recorded(event)


@dataclass
class Earned:
    computed: int  # the points the request is worth now (purchase + bonus, after the caps)
    entries: list[PointsEntry]
    measures: list[tuple[Decimal, Decimal]]  # (points earned, spend) per window, entries included


def write_earn(
    locked: Member,
    *,
    unit_id: int,
    reference: str,
    bonus_reference: str,
    base: int,
    cap_per_day: int | None,
    day: datetime,
    bonus: int,
    amount: Decimal,
    now: datetime,
    expires_at: datetime,
    actor_id: int | None,
    event: str,
    window_starts: list[datetime],
) -> Earned:
    """One statement: the purchase entry (capped per day) and the first-purchase bonus, their
    lots, the balance, the timeline event, and the level measures over ``window_starts``."""
    with connection.cursor() as cursor:
        cursor.execute(
            _EARN_SQL,
            {
                "member": locked.pk,
                "customer": locked.customer_id,
                "unit": unit_id,
                "reference": reference,
                "bonus_reference": bonus_reference,
                "base": base,
                "cap": cap_per_day,
                "day": day,
                "bonus": bonus,
                "spend": amount,
                "amount": str(amount),
                "now": now,
                "expires": expires_at,
                "actor": actor_id,
                "event": event,
                "starts": window_starts,
            },
        )
        computed, inserted, balance, event_id, pairs = cursor.fetchone()
    entries = [
        _entry(
            locked,
            id=row["id"],
            business_unit_id=unit_id,
            kind=EntryKind.EARN,
            points=row["points"],
            spend=amount if row["reason"] == "purchase" else Decimal("0"),
            reason=row["reason"],
            reference=reference if row["reason"] == "purchase" else bonus_reference,
            order_reference=reference,
            actor_id=actor_id,
            created_at=now,
        )
        for row in inserted or []
    ]
    if balance is not None:
        locked.points_balance = balance
    earned = sum(e.points for e in entries)
    _announce(
        event_id,
        locked,
        business_unit_id=unit_id,
        type=event,
        summary=f"+{earned} points",
        actor_id=actor_id,
        occurred_at=now,
        data={"points": earned, "reference": reference, "amount": str(amount)},
    )
    measures = [
        (Decimal(points) + earned, Decimal(spend) + (amount if entries else 0))
        for points, spend in pairs or []
    ]
    return Earned(computed or 0, entries, measures)


@dataclass
class Redeemed:
    available: int  # the points spendable before this request (due lots not counted)
    fresh: bool  # no earlier redemption with this reference
    entry: PointsEntry | None  # None: nothing written (insufficient, or a replay)
    unsettled: list[dict[str, int]]  # cross-unit consumptions whose statement does not exist yet


def write_redeem(
    locked: Member,
    *,
    unit_id: int,
    points: int,
    reference: str,
    reason: str,
    now: datetime,
    day: date,
    month: date,
    actor_id: int | None,
    event: str,
) -> Redeemed:
    """One statement: due lots expired, ``points`` taken from the usable lots oldest first
    (each consumption recorded, a settlement line per lot another unit funded), the balance,
    the timeline event; nothing at all when the usable lots hold too little or the reference
    was used before."""
    with connection.cursor() as cursor:
        cursor.execute(
            _REDEEM_SQL,
            {
                "member": locked.pk,
                "customer": locked.customer_id,
                "unit": unit_id,
                "points": points,
                "reference": reference,
                "reason": reason,
                "now": now,
                "day": day,
                "month": month,
                "actor": actor_id,
                "event": event,
            },
        )
        available, fresh, entry_id, balance, event_id, unsettled = cursor.fetchone()
    entry = None
    if entry_id is not None:
        entry = _entry(
            locked,
            id=entry_id,
            business_unit_id=unit_id,
            kind=EntryKind.REDEEM,
            points=-points,
            spend=Decimal("0"),
            reason=reason,
            reference=reference,
            order_reference="",
            actor_id=actor_id,
            created_at=now,
        )
        locked.points_balance = balance
        _announce(
            event_id,
            locked,
            business_unit_id=unit_id,
            type=event,
            summary=f"-{points} points",
            actor_id=actor_id,
            occurred_at=now,
            data={"points": points, "reference": reference},
        )
    return Redeemed(available, fresh, entry, unsettled or [])
