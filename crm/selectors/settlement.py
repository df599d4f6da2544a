"""Reading the cross-unit settlement ledger: statements with their totals, and flows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum, Value
from django.db.models.functions import Coalesce

from crm.models.settlement import SettlementLine, SettlementStatement


def statement_list(*, user: Any, month: date | None = None) -> Any:
    """Statements the user may see, each with ``total``, ``total_points`` and ``line_count``
    (one query)."""
    statements = SettlementStatement.objects.visible_to(user).select_related("debtor", "creditor")
    if month is not None:
        statements = statements.filter(month=month)
    return statements.annotate(
        total=Coalesce(Sum("lines__amount"), Value(Decimal("0"))),
        total_points=Coalesce(Sum("lines__points"), Value(0)),
        line_count=Count("lines"),
    )


def settlement_flows(*, since: date | None = None, until: date | None = None) -> list[dict]:
    """``debtor_id, creditor_id, amount, points`` per pair: which unit's value is spent where."""
    lines = SettlementLine.objects.all()
    if since is not None:
        lines = lines.filter(created_at__date__gte=since)
    if until is not None:
        lines = lines.filter(created_at__date__lt=until)
    return list(
        lines.values("debtor_id", "creditor_id")
        .annotate(amount=Sum("amount"), points=Sum("points"))
        .order_by("debtor_id", "creditor_id")
    )
