"""The blacklist in the admin: read-mostly. Entries change only through the services, so the
admin's actions obey the same four eyes as the web UI (the proposer cannot approve here
either); rejecting needs a comment and is done in the blacklist queue."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import services
from crm.admin.base import ReadOnlyAdmin, decision_action
from crm.models import BlacklistEntry, BlacklistStatus


@admin.register(BlacklistEntry)
class BlacklistEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "customer",
        "reason",
        "status",
        "proposed_by",
        "proposed_at",
        "decided_by",
    ]
    list_filter = ["status", "reason"]
    search_fields = ["customer__display_name", "=customer__id"]
    list_select_related = ["customer", "proposed_by", "decided_by"]
    raw_id_fields = ["customer"]
    date_hierarchy = "proposed_at"
    actions = ["approve_selected"]
    fields = [
        "customer",
        "queue_link",
        "status",
        "reason",
        "evidence",
        "scope_note",
        "proposed_by",
        "proposed_at",
        "decided_by",
        "decided_at",
        "decision_comment",
        "lift_proposed_by",
        "lift_proposed_at",
        "lift_reason",
        "lift_decided_by",
        "lift_decided_at",
        "lift_comment",
        "note",
    ]
    readonly_fields = fields

    @admin.display(description=_("blacklist queue"))
    def queue_link(self, obj: BlacklistEntry) -> str:
        return format_html('<a href="{}">{}</a>', reverse("blacklist-queue"), _("Open"))

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("crm.approve_blacklistentry")

    approve_selected = decision_action(
        "approve_selected",
        description=_("Approve the selected proposals (blacklisting or lifting)"),
        title=_("Approve blacklist proposals"),
        question=_(
            "Approve these proposals? Proposals of your own are refused: another approver "
            "must decide them."
        ),
        decide=lambda entry, request: (
            services.approve_lifting
            if entry.status == BlacklistStatus.LIFTING
            else services.approve_blacklisting
        )(entry=entry, user=request.user),
        done=lambda count: ngettext(
            "%(count)d proposal approved.", "%(count)d proposals approved.", count
        )
        % {"count": count},
    )
