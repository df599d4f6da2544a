"""The SQL of the two requests POS systems send all day: earn and redeem, in two statements
each (plus ``BEGIN``/``COMMIT``).

Why SQL here and the ORM elsewhere: at 16 concurrent connections on the 2-core bench machine
the ORM version (11–14 round trips and ~6 ms of Python per request, every one made while the
member's row lock was held) reached 19–85 requests/s against 1,300–1,500 for the bare-SQL
ledger floor (``tests/bench/README.md``, "B2C members"; 320–440 after this). Every round
trip inside the transaction lengthens the time the member stays locked, and the Python
between them runs under the GIL of the caller's process. So:

1. ``lock_for_points``: the member's row, locked (``FOR UPDATE``), with what does not depend
   on that lock in sub-selects of the same statement: whether the customer is blacklisted, its
   birthday, the unit's earning rule and the level ladder. What the lock protects (the
   member's entries and lots) is NOT read here: a row re-read after waiting for the lock keeps
   the statement's earlier snapshot in its sub-selects, so they could miss the writes of the
   transaction we waited for.
2. one data-modifying statement (``hotpath_sql``) that reads the protected rows
   with a fresh snapshot (after the lock) and writes everything: the entries, the lot (earn) or
   the FIFO consumption of the lots, set-based (redeem), the consumptions, the settlement
   lines, the balance and the timeline event. A replayed reference writes nothing (the
   ``NOT EXISTS`` on the reference, with the unique constraint as the backstop); the caller
   then reads the earlier entries (``replayed``) on that rare path only.

The redeem reads the member's open lots without locking them (no ``FOR UPDATE``): every writer
of lots (earn, redeem, reversal, adjustment, expiry task, merge) takes the member's row lock
first, so the lock already serializes them, and locking five or so lots more wrote a row lock
(a dirtied page and a WAL record) on each of them on every redemption.

The invariants stay where they were: the member's row lock orders every movement, the balance
row is updated in the same transaction as the entries (CHECK ≥ 0), lots keep 0 ≤ remaining ≤
amount (CHECK), entries are only inserted (the trigger refuses the rest).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS

from crm.models import TimelineEvent
from crm.prepared import fetch_prepared
from crm.registry import notify_event_recorded
from members.models import EarningRule, EntryKind, Level, Member, PointsEntry
from members.services.hotpath_sql import LOCK_SQL, MEMBER_ATTNAMES, REDEEM_SQL, earn_sql


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
    row = fetch_prepared(LOCK_SQL, {"member": member_id, "unit": unit_id, "rule": with_rule})
    if row is None:
        return None
    n = len(MEMBER_ATTNAMES)
    member = Member.from_db(DEFAULT_DB_ALIAS, MEMBER_ATTNAMES, row[:n])
    blacklisted, birthday, rule, ladder = row[n:]
    levels = json.loads(ladder) if ladder else []
    if with_rule:  # the ladder was read: the member's level from it, without a query
        current = next((data for data in levels if data["id"] == member.level_id), None)
        member.level = level(current) if current is not None else None
    rule = _rule(json.loads(rule), unit_id) if rule else None
    return Locked(member, bool(blacklisted), birthday, rule, levels)


# The instances below are made as Django makes loaded rows (``Model.from_db``): positional
# values in the model's field order, the fast path of ``Model.__init__`` (the keyword path
# cost ~0.1 ms per instance, four instances per request).
_LEVEL = [f.attname for f in Level._meta.concrete_fields]
_RULE = [f.attname for f in EarningRule._meta.concrete_fields]
_ENTRY = [f.attname for f in PointsEntry._meta.concrete_fields]
_EVENT = [f.attname for f in TimelineEvent._meta.concrete_fields]


def level(data: dict[str, Any]) -> Level:
    """A ``Level`` of the ladder's data (as stored: no query)."""
    values = {**data, "threshold": Decimal(data["threshold"])}
    values["multiplier"] = Decimal(data["multiplier"])
    return Level.from_db(DEFAULT_DB_ALIAS, _LEVEL, [values[name] for name in _LEVEL])


def _rule(data: dict[str, Any], unit_id: int) -> EarningRule:
    """The rule's fields the hot path uses (the others are deferred)."""
    data["business_unit_id"] = unit_id
    data["points_per_unit"] = Decimal(data["points_per_unit"])
    data["birthday_multiplier"] = Decimal(data["birthday_multiplier"])
    names = [name for name in _RULE if name in data]  # in the model's order, as from_db wants
    return EarningRule.from_db(DEFAULT_DB_ALIAS, names, [data[name] for name in names])


def _entry(member: Member, **values: Any) -> PointsEntry:
    values.update(member_id=member.pk, customer_id=member.customer_id, unrecovered=0)
    return PointsEntry.from_db(DEFAULT_DB_ALIAS, _ENTRY, [values[name] for name in _ENTRY])


def _announce(event_id: int | None, member: Member, **values: Any) -> None:
    """The timeline's hooks see the event the statement inserted, as ``record_event`` would
    have shown it to them."""
    if event_id is None:
        return
    values.update(id=event_id, customer_id=member.customer_id)
    notify_event_recorded(
        TimelineEvent.from_db(DEFAULT_DB_ALIAS, _EVENT, [values[name] for name in _EVENT])
    )


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
    computed, inserted, balance, event_id, pairs = fetch_prepared(
        earn_sql(len(window_starts)),
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
            **{f"start{i}": start for i, start in enumerate(window_starts)},
        },
    )
    entries = [
        _entry(
            locked,
            id=row["id"],
            business_unit_id=unit_id,
            kind=EntryKind.EARN,
            points=row["points"],
            spend=Decimal(row["spend"]),  # the order's: on the bonus when it is alone
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
    available, fresh, entry_id, balance, event_id, unsettled = fetch_prepared(
        REDEEM_SQL,
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
