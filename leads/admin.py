"""The lead pools' configuration UI: pools with their members and per-role hold limits,
routing rules, channel spend; leads, follow-ups and the lead history to look up (services
write them). Identities are masked here as everywhere; a full phone or e-mail finds its lead."""

from __future__ import annotations

from typing import Any

from django import forms
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
    LeadSource,
    RoutingRule,
    split_values,
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


class ValueListField(forms.CharField):
    """Several values typed in one box, separated by commas (，、; too): a list, trimmed,
    each value once whatever its case."""

    def __init__(self, *, max_item_length: int, **kwargs: Any) -> None:
        self.max_item_length = max_item_length
        kwargs.setdefault("widget", forms.TextInput(attrs={"class": "vTextField"}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return split_values(super().to_python(value))

    def validate(self, value: Any) -> None:
        super().validate(value)
        for item in value:
            if len(item) > self.max_item_length:
                raise forms.ValidationError(
                    _("“%(value)s” is too long: at most %(n)d characters per value.")
                    % {"value": item, "n": self.max_item_length}
                )


def _help(field: str) -> Any:
    return RoutingRule._meta.get_field(field).help_text


class RoutingRuleForm(forms.ModelForm[RoutingRule]):
    regions = ValueListField(
        label=_("regions"), required=False, max_item_length=60, help_text=_help("regions")
    )
    industries = ValueListField(
        label=_("industries"), required=False, max_item_length=60, help_text=_help("industries")
    )
    sources = forms.MultipleChoiceField(
        label=_("sources"),
        choices=LeadSource.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_help("sources"),
    )

    class Meta:
        model = RoutingRule
        fields = [
            "business_unit",
            "name",
            "priority",
            "is_active",
            "regions",
            "industries",
            "sources",
            "pool",
            "rep",
        ]


@admin.register(RoutingRule)
class RoutingRuleAdmin(ScopedAdminMixin, admin.ModelAdmin[RoutingRule]):
    """Which pool (and rep) a new lead goes to by its region, industry and source; the model
    validates the pool (of the rule's unit) and the rep (an active rep of the pool)."""

    form = RoutingRuleForm
    list_display = [
        "name",
        "priority",
        "is_active",
        "unit_code",
        "region_list",
        "industry_list",
        "source_list",
        "pool",
        "rep",
    ]
    list_display_links = ["name"]
    list_editable = ["priority", "is_active"]
    list_filter = ["is_active", ("business_unit", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["business_unit", "pool", "rep"]
    search_fields = ["name", "regions", "industries", "pool__name", "rep__username"]
    autocomplete_fields = ["business_unit", "pool", "rep"]
    ordering = ["business_unit", "priority", "id"]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The pool admin links here with its rules (``pool__id__exact``).
        return lookup == "pool__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("business unit"), ordering="business_unit__code")
    def unit_code(self, obj: RoutingRule) -> str:
        return obj.business_unit.code

    @admin.display(description=_("regions"))
    def region_list(self, obj: RoutingRule) -> str:
        return ", ".join(obj.regions) or str(_("any"))

    @admin.display(description=_("industries"))
    def industry_list(self, obj: RoutingRule) -> str:
        return ", ".join(obj.industries) or str(_("any"))

    @admin.display(description=_("sources"))
    def source_list(self, obj: RoutingRule) -> str:
        labels = dict(LeadSource.choices)
        return ", ".join(str(labels.get(s, s)) for s in obj.sources) or str(_("any"))


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
