"""Automatic earning: orders ingested into the customer master for a member earn points after
their transaction commits (``crm.registry`` transaction hook → ``members.tasks``).

Retry-safe: the reference of an order's earn is its order id (``external_id``) in its unit,
the same reference a POS would send to the earn API, so the task run twice, or an order both
pushed and earned through the API, earns once. A cancellation reverses its original's points
in proportion to the amount it cancels (reference: the cancellation's order id)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from crm.models import Transaction, TransactionKind
from members.errors import CustomerBlacklisted, MemberFrozen, NoEarningRule, NotAMember
from members.models import EntryKind, Member, MemberStatus, PointsEntry
from members.services.points import earn_points, order_outstanding, reverse_order

_SKIPPED = (CustomerBlacklisted, MemberFrozen, NoEarningRule, NotAMember)


def _member(customer_id: int | None) -> Member | None:
    if customer_id is None:
        return None
    member = Member.objects.filter(customer_id=customer_id).first()
    if member is None or member.status != MemberStatus.ACTIVE or member.merged_into_id:
        return None
    return member


def _earn(member: Member, tx: Transaction) -> None:
    if tx.amount > 0:
        earn_points(
            member=member,
            business_unit=tx.business_unit_id,
            reference=tx.external_id,
            amount=tx.amount,
            occurred_at=tx.occurred_at,
        )


def _reverse(member: Member, cancellation: Transaction, original: Transaction) -> bool:
    """Take back the share of the original's points that the cancellation cancels."""
    earned = (
        PointsEntry.objects.filter(
            member=member,
            business_unit_id=original.business_unit_id,
            order_reference=original.external_id,
            kind=EntryKind.EARN,
        ).aggregate(total=Sum("points"))["total"]
        or 0
    )
    share = min(Decimal("1"), abs(cancellation.amount) / original.amount) if original.amount else 1
    points = int((Decimal(earned) * share).to_integral_value())
    outstanding, _spend = order_outstanding(member, original.business_unit_id, original.external_id)
    if points <= 0 or outstanding <= 0:
        return False
    reverse_order(
        member=member,
        business_unit=original.business_unit_id,
        order_reference=original.external_id,
        reference=cancellation.external_id,
        points=min(points, outstanding),
        reason="order cancelled",
    )
    return True


def earn_for_transaction(transaction_id: int) -> str:
    """Earn (or reverse) for one stored transaction; says what it did."""
    tx = Transaction.objects.filter(pk=transaction_id).first()
    if tx is None:
        return "missing"
    member = _member(tx.customer_id)
    if member is None:
        return "not a member"
    try:
        if tx.kind == TransactionKind.PURCHASE:
            _earn(member, tx)
            # Cancellations that arrived before their order are reversed now.
            for cancellation in Transaction.objects.filter(original=tx).order_by("pk"):
                _reverse(member, cancellation, tx)
            return "earned"
        if tx.original_id is None:
            return "waiting for its order"
        original = Transaction.objects.get(pk=tx.original_id)
        _earn(member, original)  # its earn first (a replay when done)
        return "reversed" if _reverse(member, tx, original) else "nothing to reverse"
    except _SKIPPED as exc:
        return exc.code


def earn_for_transactions(transaction_ids: list[int]) -> dict[str, int]:
    """The task's body: one query finds which of the transactions belong to active members
    (a guest's or a non-member's order costs nothing more), then each earns or reverses."""
    ids = list(
        Transaction.objects.filter(
            pk__in=transaction_ids,
            customer__member__status=MemberStatus.ACTIVE,
            customer__member__merged_into__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    counts: dict[str, int] = {"not a member": len(set(transaction_ids)) - len(ids)}
    for pk in ids:
        outcome = earn_for_transaction(pk)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
