"""Cross-unit settlement statements: read-only lists; approving a finished month and marking
an approved statement settled go through ``crm.services.settlement`` (confirmed actions)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm import services
from crm.admin.base import ReadOnlyAdmin, ScopedAdminMixin, decision_action
from crm.models import SettlementLine, SettlementStatement
from crm.selectors.settlement import statement_list


def _statements_updated(count: int) -> str:
    return str(_("%(count)d statements updated.") % {"count": count})


class SettlementLineInline(admin.TabularInline[SettlementLine, SettlementStatement]):
    model = SettlementLine
    fields = ["created_at", "points", "amount", "currency", "source_kind", "source_reference"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    classes = ["collapse"]


@admin.register(SettlementStatement)
class SettlementStatementAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    list_display = ["month", "debtor", "creditor", "status", "line_count", "total", "approved_by"]
    list_filter = ["status", "month"]
    list_select_related = ["debtor", "creditor", "approved_by"]
    readonly_fields = [
        "month",
        "debtor",
        "creditor",
        "status",
        "approved_by",
        "approved_at",
        "settled_by",
        "settled_at",
        "created_at",
    ]
    inlines = [SettlementLineInline]
    actions = ["approve_selected", "mark_settled"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return statement_list(user=request.user)

    @admin.display(description=_("lines"))
    def line_count(self, obj: Any) -> int:
        return int(obj.line_count)

    @admin.display(description=_("amount owed"))
    def total(self, obj: Any) -> str:
        return f"{obj.total}"

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("crm.approve_settlementstatement"))

    approve_selected = decision_action(
        "approve_selected",
        description=_("Approve the selected statements"),
        title=_("Approve settlement statements"),
        question=_("Approve these statements? Their lines become final."),
        decide=lambda statement, request: services.approve_statement(
            statement=statement.pk, user=request.user
        ),
        done=_statements_updated,
        label=str,
    )
    mark_settled = decision_action(
        "mark_settled",
        description=_("Mark the selected statements settled"),
        title=_("Mark statements settled"),
        question=_("Has the money of these statements been paid?"),
        decide=lambda statement, request: services.mark_statement_settled(
            statement=statement.pk, user=request.user
        ),
        done=_statements_updated,
        label=str,
    )
