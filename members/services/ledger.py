"""The ledger's building blocks, used by every points use case inside its transaction.

Locking: the member's row is THE lock of its points. Every movement takes it first
(``lock_member``), then re-checks, then (the paths here) locks the lots it consumes (``FOR
UPDATE``, oldest first, a second line of defence; the hot path's redemption relies on the
member's lock alone) and writes; the expiry task locks members (ordered by id) before their
lots too, so the lock order is always member → lots and nobody deadlocks. The balance row is
updated in the same transaction as the entries, and ``member_balance_not_negative`` is the
backstop.

Invariants kept here: the balance equals the sum of the member's entries, and also the sum
of its lots' ``remaining`` (every entry that lowers the balance consumes exactly that many
points from lots; every entry that raises it creates a lot).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models.blacklist import BINDING_STATUSES, BlacklistEntry
from crm.services.blacklist import assert_not_blacklisted
from members.errors import MemberFrozen, NotAMember, ReferenceReused
from members.models import (
    EntryKind,
    LotConsumption,
    Member,
    MemberStatus,
    PointsEntry,
    PointsLot,
)


@dataclass
class PointsResult:
    """What a points request did: its entries (the main one first), whether it was a replay
    of an earlier request with the same (unit, reference), and the balance after."""

    member: Member
    entries: list[PointsEntry] = field(default_factory=list)
    replayed: bool = False

    @property
    def entry(self) -> PointsEntry | None:
        return self.entries[0] if self.entries else None

    @property
    def points(self) -> int:
        return sum(e.points for e in self.entries)

    @property
    def balance(self) -> int:
        return self.member.points_balance


def lock_member(member: Member | int) -> Member:
    """Lock the member's row (following a merge to the survivor); ``NotAMember`` if gone.

    The same statement says whether the customer is blacklisted (``locked.blacklisted``, an
    ``EXISTS`` sub-select, not a join: a row re-read after waiting for the lock would be
    joined to the old version of an outer-joined row, i.e. to nothing), so a points request
    needs no second round trip for the check; ``assert_not_blacklisted`` reads the entry
    only to word the refusal."""
    pk = member if isinstance(member, int) else member.pk
    binding = BlacklistEntry.objects.filter(
        customer_id=OuterRef("customer_id"), status__in=BINDING_STATUSES
    )
    for _hop in range(3):
        locked = (
            Member.objects.select_for_update(of=("self",))
            .annotate(blacklisted=Exists(binding))
            .filter(pk=pk)
            .first()
        )
        if locked is None:
            raise NotAMember(_("No such member."))
        if locked.merged_into_id is None:
            return locked
        pk = locked.merged_into_id
    raise NotAMember(_("No such member."))  # pragma: no cover


def refuse_if_blacklisted(locked: Member) -> None:
    """Refuse (naming since when and why) when ``lock_member`` saw a binding entry."""
    if getattr(locked, "blacklisted", True):
        assert_not_blacklisted(locked.customer_id)


def require_open(member: Member) -> None:
    if member.status == MemberStatus.CLOSED:
        raise NotAMember(_("This membership is closed."))


def require_active(member: Member) -> None:
    require_open(member)
    if member.status == MemberStatus.FROZEN:
        raise MemberFrozen(
            _("This membership is frozen (%(reason)s): it neither earns nor spends points.")
            % {"reason": member.status_reason or _("no reason given")}
        )


def refusing(work: Callable[[], PointsResult]) -> PointsResult:
    """Run ``work`` in the service's transaction. A refusal (a ``DomainError``; the hot paths
    refuse only before writing anything) leaves the block as a value and is raised after it:
    the empty transaction commits instead of rolling back (a rollback makes psycopg drop the
    connection's prepared statements), and inside a caller's transaction (an API request's
    idempotency record) no savepoint is needed, two round trips fewer."""
    with transaction.atomic(savepoint=False):
        try:
            return work()
        except DomainError as exc:
            refusal = exc
    raise refusal


def replayed(
    member: Member, unit_id: int, kinds: list[str], reference: str, *also: str
) -> list[PointsEntry] | None:
    """The entries an earlier request with this (unit, reference) wrote, or ``None``. A
    reference another member used is refused: it names a different request."""
    if not reference:
        return None
    found = list(
        PointsEntry.objects.filter(
            business_unit_id=unit_id, kind__in=kinds, reference__in=[reference, *also]
        ).order_by("id")
    )
    if not found:
        return None
    if any(e.member_id != member.pk for e in found):
        raise ReferenceReused(
            _("Reference “%(ref)s” was already used by this unit for another member.")
            % {"ref": reference},
            field="reference",
        )
    return found


def write_entry(member: Member, **values: Any) -> PointsEntry:
    return PointsEntry.objects.create(member=member, customer_id=member.customer_id, **values)


def add_lot(
    member: Member, entry: PointsEntry, *, at: datetime, expires_at: datetime | None, months: int
) -> PointsLot:
    return PointsLot.objects.create(
        member=member,
        customer_id=member.customer_id,
        funding_business_unit_id=entry.business_unit_id,
        entry=entry,
        amount=entry.points,
        remaining=entry.points,
        earned_at=at,
        expires_at=expires_at or at + relativedelta(months=months),
        order_reference=entry.order_reference,
    )


def move_balance(member: Member, delta: int) -> None:
    """Apply ``delta`` to the locked member's balance (the database CHECK is the backstop)."""
    if delta:
        Member.objects.filter(pk=member.pk).update(points_balance=F("points_balance") + delta)
        member.points_balance += delta


def usable_lots(member: Member, at: datetime, **filters: Any) -> list[PointsLot]:
    """The member's lots that can still be spent at ``at``, oldest first, locked."""
    return list(
        PointsLot.objects.select_for_update()
        .filter(member=member, is_open=True, expires_at__gt=at, **filters)
        .order_by("earned_at", "id")
    )


def consume(entry: PointsEntry, lots: list[PointsLot], points: int) -> list[tuple[PointsLot, int]]:
    """Take ``points`` from ``lots`` in their order; record each consumption. The caller has
    checked that the lots hold enough."""
    taken: list[tuple[PointsLot, int]] = []
    left = points
    for lot in lots:
        if left <= 0:
            break
        take = min(lot.remaining, left)
        lot.remaining -= take
        left -= take
        taken.append((lot, take))
    if left > 0:
        raise AssertionError("consume() called with too few points in the lots")
    if taken:
        PointsLot.objects.bulk_update([lot for lot, _n in taken], ["remaining"])
        LotConsumption.objects.bulk_create(
            [
                LotConsumption(entry=entry, lot=lot, points=n, created_at=entry.created_at)
                for lot, n in taken
            ]
        )
    return taken


def expire_member_lots(member: Member, at: datetime) -> int:
    """Expire the locked member's lots due at ``at`` (what the beat task would do): one
    ``expire`` entry per lot. Returns the points expired."""
    due = list(
        PointsLot.objects.select_for_update()
        .filter(member=member, is_open=True, expires_at__lte=at)
        .order_by("earned_at", "id")
    )
    return _expire_lots(member, due, at)


def _expire_lots(member: Member, due: list[PointsLot], at: datetime) -> int:
    total = 0
    for lot in due:
        entry = write_entry(
            member,
            business_unit_id=lot.funding_business_unit_id,
            kind=EntryKind.EXPIRE,
            points=-lot.remaining,
            reason="expired",
            reference=f"lot:{lot.pk}",
            created_at=at,
        )
        total += lot.remaining
        consume(entry, [lot], lot.remaining)
    move_balance(member, -total)
    return total
