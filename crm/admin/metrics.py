"""The customer metrics in the admin: their settings (one row), the computed rows (read-only,
filterable) with "Recompute now" (a confirmation page, then a job), and the monthly snapshots."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from crm.admin.base import ReadOnlyAdmin
from crm.errors import DomainError
from crm.models import (
    CustomerMetrics,
    CustomerUnitMetrics,
    MetricsSettings,
    MetricsSnapshot,
    UnitStageThresholds,
)
from crm.services import reference_date, start_job

RECOMPUTE_PERMISSION = "crm.recompute_customermetrics"


@admin.register(MetricsSettings)
class MetricsSettingsAdmin(admin.ModelAdmin[MetricsSettings]):
    list_display = ["__str__", "reference_date", "new_days", "active_days", "dormant_days"]
    fieldsets = [
        (None, {"fields": ["reference_date"]}),
        (
            _("Lifecycle stage"),
            {"fields": ["new_days", "active_days", "at_risk_days", "dormant_days"]},
        ),
        (_("Churn warning"), {"fields": ["churn_min_purchases", "churn_gap_multiplier"]}),
        (
            _("Lifetime value forecast"),
            {"fields": ["forecast_margin", "forecast_min_tenure_days"]},
        ),
        (
            _("Engagement stage"),
            {
                "fields": [
                    "engagement_window_days",
                    "fan_referrals",
                    "fan_purchases",
                    "fan_interactions",
                ]
            },
        ),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not MetricsSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RecomputeForm(forms.Form):
    as_of = forms.DateField(
        label=_("Reference date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: the settings' fixed reference date, else today."),
    )
    snapshot_months = forms.IntegerField(
        label=_("Back-fill monthly snapshots"),
        min_value=0,
        max_value=24,
        initial=0,
        required=False,
        help_text=_(
            "First take the month-end snapshots of this many months before the reference "
            "date (0: none)."
        ),
    )


@admin.register(CustomerMetrics)
class CustomerMetricsAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "lifecycle_stage",
        "rfm_segment",
        "rfm_code",
        "recency_days",
        "frequency",
        "monetary",
        "churn_risk",
        "lifetime_value_forecast",
        "as_of",
    ]
    list_filter = ["lifecycle_stage", "rfm_segment", "churn_risk", "engagement_stage"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
    change_list_template = "admin/crm/customermetrics/change_list.html"

    @admin.display(description=_("R-F-M"))
    def rfm_code(self, obj: CustomerMetrics) -> str:
        return obj.rfm_code or "—"

    def get_urls(self) -> list[URLPattern]:
        recompute = path(
            "recompute/",
            self.admin_site.admin_view(self.recompute_view),
            name="crm_customermetrics_recompute",
        )
        return [recompute, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra = {"can_recompute": request.user.has_perm(RECOMPUTE_PERMISSION)}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def recompute_view(self, request: HttpRequest) -> HttpResponse:
        """Confirm, then start the recompute job (and show its progress)."""
        if not (
            request.user.has_perm(RECOMPUTE_PERMISSION) and request.user.has_perm("crm.add_job")
        ):
            raise PermissionDenied
        form = RecomputeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            as_of = form.cleaned_data["as_of"]
            params = {"snapshot_months": form.cleaned_data["snapshot_months"] or 0}
            if as_of:
                params["as_of"] = as_of.isoformat()
            job = start_job(kind="crm.recompute_metrics", params=params, user=request.user)
            self.message_user(
                request,
                _("Recomputing the metrics of every customer; the job shows its progress."),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("job-detail", args=[job.pk]))
        try:
            default_day = reference_date()
        except DomainError:  # pragma: no cover - the settings hold a date
            default_day = None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Recompute customer metrics"),
            "form": form,
            "default_day": default_day,
            "customers": CustomerMetrics.objects.count(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/crm/customermetrics/recompute.html", context)


@admin.register(MetricsSnapshot)
class MetricsSnapshotAdmin(ReadOnlyAdmin):
    list_display = [
        "month",
        "customer",
        "lifecycle_stage",
        "rfm_segment",
        "customers",
        "churn_risks",
        "monetary",
        "as_of",
    ]
    list_filter = ["month", "lifecycle_stage", "rfm_segment"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]


@admin.register(UnitStageThresholds)
class UnitStageThresholdsAdmin(admin.ModelAdmin[UnitStageThresholds]):
    """A unit's own lifecycle thresholds (its per-unit stages); others use the settings'."""

    list_display = ["business_unit", "new_days", "active_days", "at_risk_days", "dormant_days"]
    list_select_related = ["business_unit"]
    autocomplete_fields = ["business_unit"]
    search_fields = ["business_unit__name", "business_unit__code"]
    ordering = ["business_unit__code"]


@admin.register(CustomerUnitMetrics)
class CustomerUnitMetricsAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "business_unit",
        "lifecycle_stage",
        "rfm_segment",
        "rfm_code",
        "recency_days",
        "frequency",
        "monetary",
        "as_of",
    ]
    list_filter = ["business_unit", "lifecycle_stage", "rfm_segment"]
    list_select_related = ["customer", "business_unit"]
    raw_id_fields = ["customer"]
    search_fields = ["customer__display_name"]
    show_full_result_count = False

    @admin.display(description=_("R-F-M"))
    def rfm_code(self, obj: CustomerUnitMetrics) -> str:
        return obj.rfm_code or "—"
