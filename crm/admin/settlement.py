"""Cross-unit settlement statements: read-only lists; approving a finished month and marking
an approved statement settled go through ``crm.services.settlement`` (confirmed actions)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from crm import services
from crm.admin.base import ReadOnlyAdmin, ScopedAdminMixin, confirm_action
from crm.errors import DomainError
from crm.models import SettlementLine, SettlementStatement
from crm.selectors.settlement import statement_list


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

    def _run(self, request: HttpRequest, queryset: QuerySet[Any], action: Any) -> None:
        done = 0
        for statement in queryset.order_by("id"):
            try:
                action(statement=statement.pk, user=request.user)
            except DomainError as exc:
                self.message_user(request, f"{statement}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, _("%(count)d statements updated.") % {"count": done})

    @admin.action(description=_("Approve the selected statements"), permissions=["approve"])
    def approve_selected(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        response = confirm_action(
            self,
            request,
            queryset,
            action="approve_selected",
            title=_("Approve settlement statements"),
            question=_("Approve these statements? Their lines become final."),
        )
        if response is None:
            self._run(request, queryset, services.approve_statement)
        return response

    @admin.action(description=_("Mark the selected statements settled"), permissions=["approve"])
    def mark_settled(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        response = confirm_action(
            self,
            request,
            queryset,
            action="mark_settled",
            title=_("Mark statements settled"),
            question=_("Has the money of these statements been paid?"),
        )
        if response is None:
            self._run(request, queryset, services.mark_statement_settled)
        return response
