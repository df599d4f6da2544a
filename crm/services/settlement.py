"""The cross-unit settlement ledger's use cases: write a line (inside the caller's
transaction), approve a month's statement, mark it settled.

A line belongs to the statement of its month (``created_at`` in the group's time zone) and
its (debtor, creditor) pair, created on first use. A statement is approved once its month is
over (four eyes are not needed: the lines are the system's own record; approving needs
``crm.approve_settlementstatement``), then marked settled when the money has moved. Lines are
never changed: a correction is a new line the other way round."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models.settlement import (
    SettlementLine,
    SettlementSource,
    SettlementStatement,
    StatementStatus,
)

APPROVE_PERMISSION = "crm.approve_settlementstatement"


class StatementRefused(DomainError):
    code = "statement_refused"
    status = 409


def month_of(moment: datetime) -> date:
    return localtime(moment).date().replace(day=1)


def allow_ledger_reassign() -> None:
    """Let the ledgers' triggers pass a change of owner (``movable_fields``) until the end of
    the current transaction: a customer merge moving ledger rows to the survivor."""
    if not connection.in_atomic_block:
        raise RuntimeError("Ledger rows move only inside a transaction.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('crm.ledger_reassign', 'on', true)")


def _statement(month: date, debtor_id: int, creditor_id: int) -> SettlementStatement:
    found = SettlementStatement.objects.filter(
        month=month, debtor_id=debtor_id, creditor_id=creditor_id
    ).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return SettlementStatement.objects.create(
                month=month, debtor_id=debtor_id, creditor_id=creditor_id
            )
    except IntegrityError:  # another writer created it at the same moment
        return SettlementStatement.objects.get(
            month=month, debtor_id=debtor_id, creditor_id=creditor_id
        )


def statement_id(at: datetime, debtor_id: int, creditor_id: int) -> int:
    """The id of the (debtor, creditor) statement of ``at``'s month, created on first use:
    for a writer that inserts its lines itself (a coupon redemption's single statement)."""
    return _statement(month_of(at), debtor_id, creditor_id).pk


def record_settlement_lines(
    lines: list[tuple[int, int, Decimal, int, str]],
    *,
    source_kind: str = SettlementSource.POINTS,
    currency: str = "CNY",
    at: datetime | None = None,
) -> list[SettlementLine]:
    """Write ``(debtor_id, creditor_id, amount, points, source_reference)`` lines, each on its
    month's statement. Call inside the transaction of the consumption it settles; a line's
    ``(source_kind, source_reference)`` is unique, so a replay cannot owe twice."""
    at = at or timezone.now()
    month = month_of(at)
    statements: dict[tuple[int, int], SettlementStatement] = {}
    rows = []
    for debtor_id, creditor_id, amount, points, reference in lines:
        if debtor_id == creditor_id:
            continue
        key = (debtor_id, creditor_id)
        if key not in statements:
            statements[key] = _statement(month, debtor_id, creditor_id)
        rows.append(
            SettlementLine(
                statement=statements[key],
                debtor_id=debtor_id,
                creditor_id=creditor_id,
                amount=amount,
                points=points,
                currency=currency,
                source_kind=source_kind,
                source_reference=reference,
                created_at=at,
            )
        )
    return SettlementLine.objects.bulk_create(rows)


def _require(user: Any) -> None:
    if not (getattr(user, "pk", None) and user.is_active and user.has_perm(APPROVE_PERMISSION)):
        raise StatementRefused(_("You may not approve or settle statements."), code="forbidden")


def _locked(statement: SettlementStatement | int) -> SettlementStatement:
    pk = statement if isinstance(statement, int) else statement.pk
    locked = SettlementStatement.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise StatementRefused(_("This statement no longer exists."))
    return locked


def approve_statement(
    *, statement: SettlementStatement | int, user: Any, now: datetime | None = None
) -> SettlementStatement:
    """Approve a statement whose month is over; its lines are final."""
    _require(user)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(statement)
        if locked.status != StatementStatus.OPEN:
            raise StatementRefused(_("This statement is no longer open."))
        if locked.month >= month_of(now):
            raise StatementRefused(_("A month's statement is approved once the month is over."))
        locked.status, locked.approved_by, locked.approved_at = StatementStatus.APPROVED, user, now
        locked.save(update_fields=["status", "approved_by", "approved_at"])
    return locked


def mark_statement_settled(
    *, statement: SettlementStatement | int, user: Any, now: datetime | None = None
) -> SettlementStatement:
    _require(user)
    with transaction.atomic():
        locked = _locked(statement)
        if locked.status != StatementStatus.APPROVED:
            raise StatementRefused(_("Only an approved statement can be marked settled."))
        locked.status, locked.settled_by = StatementStatus.SETTLED, user
        locked.settled_at = now or timezone.now()
        locked.save(update_fields=["status", "settled_by", "settled_at"])
    return locked
