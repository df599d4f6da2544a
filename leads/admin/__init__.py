"""The lead pools' configuration UI: pools with their members and per-role hold limits,
routing rules, channel spend; leads, follow-ups and the lead history to look up (services
write them). Identities are masked here as everywhere; a full phone or e-mail finds its lead."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm.admin.base import BigTableAdmin, ReadOnlyAdmin, ScopedAdminMixin
from crm.errors import DomainError
from crm.normalizers import mask_identity, normalize_email, normalize_phone
from leads.models import (
    ChannelCost,
    FollowUp,
    HoldLimit,
    Lead,
    LeadEvent,
    LeadPool,
    LeadPoolMember,
    RoutingRule,
)


class LeadPoolMemberInline(admin.TabularInline[LeadPoolMember, LeadPool]):
    model = LeadPoolMember
    extra = 0
    autocomplete_fields = ["user"]


class HoldLimitInline(admin.TabularInline[HoldLimit, LeadPool]):
    model = HoldLimit
    extra = 0


@admin.register(LeadPool)
class LeadPoolAdmin(ScopedAdminMixin, admin.ModelAdmin[LeadPool]):
    list_display = [
        "name",
        "business_unit",
        "kind",
        "strategy",
        "hold_limit",
        "daily_claim_quota",
        "follow_up_days",
        "convert_days",
        "is_active",
    ]
    list_filter = ["kind", "strategy", "is_active", "business_unit"]
    list_select_related = ["business_unit"]
    search_fields = ["name", "business_unit__code", "business_unit__name"]
    autocomplete_fields = ["business_unit"]
    inlines = [LeadPoolMemberInline, HoldLimitInline]
    readonly_fields = ["routing_rules_link"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "business_unit",
                    "name",
                    "kind",
                    "is_active",
                    "strategy",
                    "routing_rules_link",
                ]
            },
        ),
        (_("Limits"), {"fields": ["hold_limit", "daily_claim_quota"]}),
        (
            _("Recycling"),
            {
                "fields": [
                    "follow_up_days",
                    "convert_days",
                    "unclaimed_days",
                    "warn_days",
                    "cooldown_days",
                ]
            },
        ),
    ]

    @admin.display(description=_("routing rules"))
    def routing_rules_link(self, obj: LeadPool | None) -> str:
        """The rules sending leads to this pool, as a link to their list."""
        if obj is None or obj.pk is None:
            return "—"
        count = RoutingRule.objects.filter(pool=obj).count()
        url = reverse("admin:leads_routingrule_changelist") + f"?pool__id__exact={obj.pk}"
        label = ngettext(
            "%(n)d routing rule sends leads here", "%(n)d routing rules send leads here", count
        ) % {"n": count}
        return format_html('<a href="{}">{}</a>', url, label)


@admin.register(ChannelCost)
class ChannelCostAdmin(ScopedAdminMixin, admin.ModelAdmin[ChannelCost]):
    list_display = ["month", "business_unit", "source", "channel", "campaign_code", "amount"]
    list_filter = ["business_unit", "source", "month"]
    list_select_related = ["business_unit"]
    search_fields = ["channel", "campaign_code"]
    autocomplete_fields = ["business_unit"]
    date_hierarchy = "month"


@admin.register(Lead)
class LeadAdmin(ScopedAdminMixin, BigTableAdmin):
    """Leads are moved (claimed, assigned, recycled, converted) by the services only; here
    the descriptive fields may be corrected."""

    list_display = [
        "id",
        "lead_name",
        "masked_phone",
        "business_unit",
        "pool",
        "owner",
        "status",
        "source",
        "score",
        "existing_customer",
        "quarantined",
        "created_at",
    ]
    list_filter = ["status", "source", "quarantined", "existing_customer", "business_unit", "pool"]
    list_select_related = ["business_unit", "pool", "owner"]
    search_fields = ["name", "company", "=channel", "=campaign_code", "=external_ref"]
    readonly_fields = [
        "customer",
        "masked_phone",
        "masked_email",
        "masked_wechat",
        "business_unit",
        "pool",
        "owner",
        "status",
        "lost_reason",
        "claimed_at",
        "first_contacted_at",
        "last_follow_up_at",
        "next_follow_up_at",
        "recycle_warned_at",
        "existing_customer",
        "customer_owner",
        "quarantined",
        "quarantine_reason",
        "source_key",
        "converted_at",
        "closed_at",
        "created_by",
        "created_at",
    ]
    fields = [
        "kind",
        "name",
        "company",
        "title",
        "masked_phone",
        "masked_email",
        "masked_wechat",
        "region",
        "industry",
        "source",
        "channel",
        "campaign_code",
        "score",
        "note",
        *[f for f in readonly_fields if not f.startswith("masked_")],
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # leads arrive through intake (web form, import, API)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("name"), ordering="name")
    def lead_name(self, obj: Lead) -> str:
        return obj.display_name

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Lead) -> str:
        return mask_identity("mobile", obj.phone) if obj.phone else "—"

    @admin.display(description=_("e-mail"))
    def masked_email(self, obj: Lead) -> str:
        return mask_identity("email", obj.email) if obj.email else "—"

    @admin.display(description=_("WeChat"))
    def masked_wechat(self, obj: Lead) -> str:
        return mask_identity("wechat_openid", obj.wechat) if obj.wechat else "—"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """A full phone number or e-mail, however typed, finds its lead."""
        term = search_term.strip()
        for normalize, field in ((normalize_phone, "phone"), (normalize_email, "email")):
            try:
                value = normalize(term)
            except DomainError:
                continue
            return queryset.filter(**{field: value}), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "lead", "kind", "outcome", "author", "next_action_at"]
    list_filter = ["kind", "outcome"]
    list_select_related = ["lead", "author"]
    search_fields = ["=lead__id", "note"]
    date_hierarchy = "occurred_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        leads = Lead.objects.visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(lead__in=leads)


@admin.register(LeadEvent)
class LeadEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "lead", "kind", "actor", "from_owner", "to_owner", "to_pool", "reason"]
    list_filter = ["kind", "reason"]
    list_select_related = ["lead", "actor", "from_owner", "to_owner", "to_pool"]
    search_fields = ["=lead__id"]
    date_hierarchy = "at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        leads = Lead.objects.visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(lead__in=leads)


# The routing rules' admin (registers itself on import).
from leads.admin import routing  # noqa: E402, F401
