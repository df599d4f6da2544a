"""Marketing's configuration UI: campaigns (status moved by actions through the service),
coupon templates with their funding shares (adding up to 100 %) and redeemable units, trigger
rules (saved through the service). Coupons, firings, bulk runs and reversals are read-only
(the services write them); coupons can be voided in bulk after a confirmation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from campaigns import services
from campaigns.models import (
    BulkIssue,
    Campaign,
    CampaignStatus,
    Coupon,
    CouponReversal,
    CouponTemplate,
    TemplateFunding,
    TriggerFiring,
    TriggerRule,
)
from campaigns.web.forms import RULE_FIELDS, TriggerRuleFormBase
from crm.admin.base import ReadOnlyAdmin, ScopedAdminMixin, confirm_action
from crm.errors import DomainError


def _move(status: str, label: Any) -> Any:
    @admin.action(description=label, permissions=["change"])
    def move(modeladmin: CampaignAdmin, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        done = 0
        for campaign in queryset.order_by("pk"):
            try:
                services.change_campaign_status(campaign=campaign, status=status, user=request.user)
            except DomainError as exc:
                modeladmin.message_user(request, f"{campaign}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            modeladmin.message_user(request, _("%(count)d campaigns changed.") % {"count": done})

    move.__name__ = f"make_{status}"
    return move


@admin.register(Campaign)
class CampaignAdmin(ScopedAdminMixin, admin.ModelAdmin[Campaign]):
    list_display = [
        "name",
        "business_unit",
        "status",
        "starts_on",
        "ends_on",
        "budget",
        "issued_value",
        "owner",
    ]
    list_filter = ["status", "business_unit", "starts_on"]
    list_select_related = ["business_unit", "owner"]
    search_fields = ["name", "goal"]
    autocomplete_fields = ["business_unit", "owner"]
    # the budget spent moves only with the coupons issued (a conditional UPDATE)
    readonly_fields = [
        "status",
        "status_changed_at",
        "issued_value",
        "audience_snapshot",
        "created_at",
    ]
    actions = [
        _move(CampaignStatus.SCHEDULED, _("Schedule the selected campaigns")),
        _move(CampaignStatus.ACTIVE, _("Start the selected campaigns")),
        _move(CampaignStatus.PAUSED, _("Pause the selected campaigns")),
        _move(CampaignStatus.ENDED, _("End the selected campaigns")),
        _move(CampaignStatus.DRAFT, _("Return the selected campaigns to draft")),
    ]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # end it instead


class FundingFormSet(forms.BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        shares = [
            form.cleaned_data.get("share") or Decimal("0")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        try:
            services.check_funding_shares(shares)
        except DomainError as exc:
            raise ValidationError(exc.message) from exc


class FundingInline(admin.TabularInline[TemplateFunding, CouponTemplate]):
    model = TemplateFunding
    formset = FundingFormSet
    extra = 1
    min_num = 1
    autocomplete_fields = ["business_unit"]


@admin.register(CouponTemplate)
class CouponTemplateAdmin(ScopedAdminMixin, admin.ModelAdmin[CouponTemplate]):
    list_display = [
        "name",
        "business_unit",
        "kind",
        "value",
        "cap",
        "minimum_spend",
        "stock",
        "issued_count",
        "per_customer_limit",
        "is_active",
    ]
    list_filter = ["kind", "is_active", "business_unit", "stackable", "reversible_on_refund"]
    list_select_related = ["business_unit"]
    search_fields = ["name", "terms"]
    autocomplete_fields = ["business_unit", "redeemable_units"]
    readonly_fields = ["issued_count", "created_by", "created_at"]
    inlines = [FundingInline]

    def save_model(
        self, request: HttpRequest, obj: CouponTemplate, form: Any, change: bool
    ) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # coupons point to it: deactivate instead


class TriggerRuleForm(TriggerRuleFormBase):
    class Meta(TriggerRuleFormBase.Meta):
        fields = [*RULE_FIELDS, "owner", "is_active"]


@admin.register(TriggerRule)
class TriggerRuleAdmin(ScopedAdminMixin, admin.ModelAdmin[TriggerRule]):
    form = TriggerRuleForm
    list_display = [
        "name",
        "event_type",
        "source_business_unit",
        "template",
        "funding_business_unit",
        "issued_count",
        "budget_count",
        "issued_value",
        "budget_value",
        "is_active",
        "exhausted_at",
    ]
    list_filter = ["is_active", "event_type", "source_business_unit", "funding_business_unit"]
    list_select_related = ["source_business_unit", "template", "funding_business_unit"]
    search_fields = ["name", "template__name"]
    autocomplete_fields = ["source_business_unit", "template", "funding_business_unit", "owner"]
    readonly_fields = ["issued_count", "issued_value", "exhausted_at", "created_at"]

    def save_model(self, request: HttpRequest, obj: TriggerRule, form: Any, change: bool) -> None:
        services.save_trigger_rule(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # firings point to it: deactivate instead


@admin.register(Coupon)
class CouponAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    list_display = [
        "code",
        "template",
        "customer",
        "business_unit",
        "status",
        "source",
        "issued_at",
        "valid_until",
        "redeemed_business_unit",
        "redeemed_at",
        "discount",
    ]
    list_filter = ["status", "source", "business_unit", "redeemed_business_unit", "issued_at"]
    list_select_related = ["template", "customer", "business_unit", "redeemed_business_unit"]
    search_fields = ["=code", "=customer__id", "=redemption_reference", "template__name"]
    raw_id_fields = ["customer", "template", "campaign", "bulk_issue"]
    actions = ["void_selected"]
    date_hierarchy = "issued_at"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        from campaigns.codes import normalize

        return super().get_search_results(request, queryset, normalize(search_term) or search_term)

    def has_void_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("campaigns.void_coupon"))

    @admin.action(description=_("Void the selected coupons"), permissions=["void"])
    def void_selected(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        response = confirm_action(
            self,
            request,
            queryset,
            action="void_selected",
            title=_("Void coupons"),
            question=_(
                "Void these coupons? Their owners can no longer use them; redeemed or expired "
                "coupons are left as they are."
            ),
        )
        if response is None:
            voided = services.void_coupons(
                coupons=list(queryset.values_list("pk", flat=True)),
                reason=str(_("Voided in the administration by %(user)s"))
                % {"user": request.user.get_username()},
                user=request.user,
            )
            self.message_user(request, _("%(count)d coupons voided.") % {"count": voided})
        return response


@admin.register(TriggerFiring)
class TriggerFiringAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    list_display = ["rule", "event_key", "customer", "outcome", "reason", "coupon", "created_at"]
    list_filter = ["outcome", "rule", "created_at"]
    list_select_related = ["rule", "customer", "coupon"]
    search_fields = ["=event_key", "=customer__id", "rule__name"]


@admin.register(BulkIssue)
class BulkIssueAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    list_display = [
        "key",
        "template",
        "status",
        "requested",
        "issued",
        "skipped_limit",
        "skipped_stock",
        "skipped_blacklisted",
        "skipped_budget",
        "created_at",
    ]
    list_filter = ["status", "created_at"]
    list_select_related = ["template"]
    search_fields = ["=key", "template__name"]
    exclude = ["customer_ids"]


@admin.register(CouponReversal)
class CouponReversalAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    list_display = [
        "coupon",
        "business_unit",
        "reference",
        "redemption_reference",
        "discount",
        "restored",
        "reason",
        "created_at",
    ]
    list_filter = ["restored", "business_unit", "created_at"]
    list_select_related = ["coupon", "business_unit"]
    search_fields = ["=reference", "=redemption_reference", "=coupon__code"]


from campaigns import admin_rollup  # noqa: E402, F401  (the rollup's admin, kept apart)
