"""The programme's configuration UI: levels, earning rules, the point value and settings are
edited here; members, the ledger and level history are read-only (services write them);
large adjustments are approved or rejected through ``members.services`` (confirmed)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.admin.base import BigTableAdmin, ReadOnlyAdmin, ScopedAdminMixin, decision_action
from members import services
from members.models import (
    AdjustmentProposal,
    AdjustmentStatus,
    EarningRule,
    Level,
    LevelChange,
    Member,
    PointsEntry,
    PointValue,
    ProgramSettings,
)


def _proposed(queryset: QuerySet[Any]) -> QuerySet[Any]:
    return queryset.filter(status=AdjustmentStatus.PROPOSED)


def _adjustments_decided(count: int) -> str:
    return str(_("%(count)d adjustments decided.") % {"count": count})


@admin.register(Level)
class LevelAdmin(admin.ModelAdmin[Level]):
    list_display = ["rank", "name", "code", "basis", "threshold", "window_months", "multiplier"]
    list_display_links = ["name"]
    ordering = ["rank"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # members and their history point to it


@admin.register(EarningRule)
class EarningRuleAdmin(ScopedAdminMixin, admin.ModelAdmin[EarningRule]):
    list_display = [
        "business_unit",
        "is_active",
        "points_per_unit",
        "rounding",
        "cap_per_transaction",
        "cap_per_day",
        "validity_months",
        "enrolment_bonus",
        "birthday_multiplier",
        "first_purchase_bonus",
    ]
    list_select_related = ["business_unit"]
    exclude = ["updated_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead


@admin.register(PointValue)
class PointValueAdmin(admin.ModelAdmin[PointValue]):
    list_display = ["valid_from", "value", "currency"]


@admin.register(ProgramSettings)
class ProgramSettingsAdmin(admin.ModelAdmin[ProgramSettings]):
    list_display = ["__str__", "adjustment_approval_threshold", "downgrade_grace_days"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ProgramSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "customer",
        "level",
        "status",
        "points_balance",
        "enrolled_business_unit",
        "channel",
        "enrolled_at",
    ]
    list_filter = ["status", "level", "channel", "enrolled_business_unit"]
    list_select_related = ["customer", "level", "enrolled_business_unit"]
    search_fields = ["=number", "=aliases__number"]
    raw_id_fields = ["customer", "merged_into"]


@admin.register(PointsEntry)
class PointsEntryAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "member",
        "kind",
        "points",
        "unrecovered",
        "business_unit",
        "reference",
        "reason",
        "actor",
    ]
    list_filter = ["kind", "business_unit"]
    list_select_related = ["member", "business_unit", "actor"]
    search_fields = ["=reference", "=member__number"]


@admin.register(LevelChange)
class LevelChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "member", "from_level", "to_level", "reason", "measure"]
    list_filter = ["reason", "to_level"]
    list_select_related = ["member", "from_level", "to_level"]


@admin.register(AdjustmentProposal)
class AdjustmentProposalAdmin(ScopedAdminMixin, BigTableAdmin):
    list_display = [
        "proposed_at",
        "member",
        "points",
        "reason",
        "business_unit",
        "status",
        "proposed_by",
        "decided_by",
    ]
    list_filter = ["status", "business_unit"]
    list_select_related = ["member", "business_unit", "proposed_by", "decided_by"]
    actions = ["approve_selected", "reject_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # proposed at the desk (members.services.adjust_points)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(services.adjustments.APPROVE_PERMISSION))

    approve_selected = decision_action(
        "approve_selected",
        description=_("Approve the selected adjustments"),
        title=_("Approve points adjustments"),
        question=_(
            "Apply these adjustments? Your own proposals are refused: another "
            "approver must decide them."
        ),
        decide=lambda p, request: services.approve_adjustment(proposal=p, user=request.user),
        done=_adjustments_decided,
        pending=_proposed,
    )
    reject_selected = decision_action(
        "reject_selected",
        description=_("Reject the selected adjustments"),
        title=_("Reject points adjustments"),
        question=_("Reject these adjustments? Nothing is applied."),
        decide=lambda p, request: services.reject_adjustment(
            proposal=p,
            user=request.user,
            comment=str(_("Rejected in the administration by %(user)s"))
            % {"user": request.user.get_username()},
        ),
        done=_adjustments_decided,
        pending=_proposed,
    )
