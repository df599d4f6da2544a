"""Monthly settlement statements per unit pair (the crm's settlement ledger): the list, one
statement with its lines, approving it and marking it settled (crm's services, after a
confirmation), and its XLSX/CSV export through the shared export jobs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from crm.errors import DomainError
from crm.exports import Column, ExportSpec
from crm.models.settlement import SettlementLine, SettlementSource, StatementStatus
from crm.selectors.settlement import statement_list
from crm.services.settlement import approve_statement, mark_statement_settled
from crm.web.components import paginate

STATEMENT_LINES_KEY = "members.statement_lines"
VIEW_PERMISSION = "crm.view_settlementstatement"
EXPORT_BATCH = 2000


def _statements(user: Any) -> Any:
    return statement_list(user=user)


@require_GET
@permission_required(VIEW_PERMISSION, raise_exception=True)
def statement_index(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    statements = _statements(request.user)
    if status in StatementStatus.values:
        statements = statements.filter(status=status)
    else:
        status = ""
    page = paginate(request, statements.order_by("-month", "debtor__code", "creditor__code"), 25)
    return render(
        request,
        "members/statements.html",
        {"page": page, "status": status, "statuses": StatementStatus.choices},
    )


def _statement_or_404(request: HttpRequest, pk: int) -> Any:
    statement = _statements(request.user).filter(pk=pk).first()
    if statement is None:
        raise Http404
    return statement


@require_GET
@permission_required(VIEW_PERMISSION, raise_exception=True)
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    statement = _statement_or_404(request, pk)
    lines = SettlementLine.objects.filter(statement=statement).order_by("created_at", "id")
    return render(
        request,
        "members/statement_detail.html",
        {
            "statement": statement,
            "page": paginate(request, lines, 50),
            "can_decide": request.user.has_perm("crm.approve_settlementstatement"),
            "export_query": f"statement={statement.pk}",
        },
    )


@require_POST
@permission_required(VIEW_PERMISSION, raise_exception=True)
def statement_decide(request: HttpRequest, pk: int) -> HttpResponse:
    statement = _statement_or_404(request, pk)
    action = request.POST.get("action")
    try:
        if action == "approve":
            approve_statement(statement=statement, user=request.user)
            messages.success(request, _("Statement approved: its lines are final."))
        elif action == "settle":
            mark_statement_settled(statement=statement, user=request.user)
            messages.success(request, _("Statement marked settled."))
        else:
            messages.error(request, _("Choose approve or settled."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("members:statement", pk=statement.pk)


# --- Export: the lines of one statement -----------------------------------------------------


def _columns(reveal: bool) -> list[Column]:
    return [
        Column("created", gettext_lazy("When"), "datetime"),
        Column("debtor", gettext_lazy("Owing unit")),
        Column("creditor", gettext_lazy("Owed unit")),
        Column("source", gettext_lazy("Source")),
        Column("reference", gettext_lazy("Source reference")),
        Column("points", gettext_lazy("Points"), "int"),
        Column("amount", gettext_lazy("Amount"), "money"),
        Column("currency", gettext_lazy("Currency")),
    ]


def _lines(user: Any, params: dict[str, str]) -> Any:
    try:
        pk = int(params.get("statement", ""))
    except ValueError:
        return SettlementLine.objects.none()
    statement = _statements(user).filter(pk=pk).values("pk")
    return SettlementLine.objects.filter(statement__in=statement)


def _count(user: Any, params: dict[str, str]) -> int:
    return int(_lines(user, params).count())


def _rows(user: Any, params: dict[str, str], reveal: bool) -> Iterator[list[dict[str, Any]]]:
    sources = dict(SettlementSource.choices)
    last = 0
    lines = _lines(user, params).select_related("debtor", "creditor").order_by("id")
    while True:
        batch = list(lines.filter(id__gt=last)[:EXPORT_BATCH])
        if not batch:
            return
        last = batch[-1].pk
        yield [
            {
                "created": line.created_at,
                "debtor": line.debtor.code,
                "creditor": line.creditor.code,
                "source": str(sources.get(line.source_kind, line.source_kind)),
                "reference": line.source_reference,
                "points": line.points,
                "amount": line.amount,
                "currency": line.currency,
            }
            for line in batch
        ]


STATEMENT_EXPORT = ExportSpec(
    list_key=STATEMENT_LINES_KEY,
    label=gettext_lazy("Settlement statement lines"),
    filename="settlement-statement",
    permission=VIEW_PERMISSION,
    columns=_columns,
    count=_count,
    rows=_rows,
)
