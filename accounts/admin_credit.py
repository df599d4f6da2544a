"""The credit admin: evidence (recorded through the service, which recomputes the profile;
never edited afterwards), profiles (computed: read-only, with their history), and the one
scoring rule whose weights and bands admins edit, then apply to every profile with a
confirmed "recompute all" action (a background job)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import (
    CreditBand,
    CreditEvidence,
    CreditProfile,
    CreditScoreChange,
    CreditScoringRule,
    CreditWeight,
)
from crm import services as crm_services
from crm.admin.base import BigTableAdmin, ReadOnlyAdmin, ScopedAdminMixin, confirm_action
from crm.errors import DomainError


@admin.register(CreditEvidence)
class CreditEvidenceAdmin(ScopedAdminMixin, BigTableAdmin):
    list_display = [
        "account",
        "kind",
        "effect",
        "observed_on",
        "source",
        "recorded_by",
        "created_at",
    ]
    list_filter = ["kind", "effect", "observed_on"]
    search_fields = ["account__customer__display_name", "source", "value"]
    list_select_related = ["account__customer", "recorded_by"]
    autocomplete_fields = ["account"]
    date_hierarchy = "observed_on"
    fields = ["account", "kind", "effect", "observed_on", "source", "value", "note"]

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        """A refusal of the service (a date in the future, no permission): nothing stored,
        the form comes back with the reason."""
        try:
            return super().changeform_view(request, *args, **kwargs)
        except DomainError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(request.get_full_path())

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return []
        return [*self.fields, "recorded_by", "created_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a correction is new evidence; the history refers to this row

    def save_model(
        self, request: HttpRequest, obj: CreditEvidence, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        evidence = services.add_credit_evidence(
            account=data["account"],
            user=request.user,
            kind=data["kind"],
            effect=data["effect"],
            source=data["source"],
            observed_on=data["observed_on"],
            value=data.get("value", ""),
            note=data.get("note", ""),
        )
        obj.pk = evidence.pk
        obj.refresh_from_db()


@admin.register(CreditScoreChange)
class CreditScoreChangeAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    list_display = ["at", "account", "reason", "score_before", "score_after", "rating_after"]
    list_display += ["limit_after", "actor"]
    list_filter = ["reason", "rating_after"]
    search_fields = ["account__customer__display_name"]
    list_select_related = ["account__customer", "actor"]


@admin.register(CreditProfile)
class CreditProfileAdmin(ScopedAdminMixin, BigTableAdmin):
    list_display = ["account", "rating", "score", "credit_limit", "currency", "next_review_on"]
    list_display += ["review_due"]
    list_filter = ["rating", "review_due"]
    search_fields = ["account__customer__display_name"]
    list_select_related = ["account__customer"]
    fields = ["account", "score", "rating", "credit_limit", "currency", "next_review_on"]
    fields += ["review_due", "computed_at", "reviewed_at"]
    readonly_fields = fields
    actions = ["recompute_selected"]

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kw: Any) -> Any:
        profile = self.get_object(request, object_id)
        history = (
            CreditScoreChange.objects.filter(account_id=profile.account_id)
            .select_related("evidence", "actor")
            .order_by("-at", "-id")[:100]
            if profile
            else []
        )
        # The history hangs off the account, not the profile: listed beneath it (the last 100).
        extra = {**(kw.pop("extra_context", None) or {}), "credit_history": history}
        return super().change_view(request, object_id, *args, extra_context=extra, **kw)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # profiles are computed from evidence

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Recompute the selected profiles"), permissions=["view"])
    def recompute_selected(self, request: HttpRequest, queryset: QuerySet[CreditProfile]) -> None:
        for profile in queryset.select_related("account"):
            services.recompute_credit(account=profile.account, actor=request.user)
        self.message_user(request, _("Profiles recomputed."), messages.SUCCESS)


class BandFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        kept = [
            f.cleaned_data
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        if not any(row.get("min_score") == 0 for row in kept):
            raise forms.ValidationError(
                _("One band must start at score 0, so every score has a rating.")
            )


class WeightFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        seen = set()
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE"):
                continue
            key = (data.get("kind"), data.get("effect"))
            if key in seen:
                raise forms.ValidationError(_("Each kind and effect has one weight."))
            seen.add(key)


class CreditWeightInline(admin.TabularInline[CreditWeight, CreditScoringRule]):
    model = CreditWeight
    formset = WeightFormSet
    extra = 0


class CreditBandInline(admin.TabularInline[CreditBand, CreditScoringRule]):
    model = CreditBand
    formset = BandFormSet
    extra = 0


@admin.register(CreditScoringRule)
class CreditScoringRuleAdmin(admin.ModelAdmin[CreditScoringRule]):
    list_display = ["__str__", "base_score", "base_limit", "currency", "review_interval_days"]
    list_display += ["updated_at", "updated_by"]
    fields = ["base_score", "base_limit", "currency", "full_weight_days", "half_weight_days"]
    fields += ["review_interval_days", "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]
    inlines = [CreditWeightInline, CreditBandInline]
    actions = ["recompute_all"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not CreditScoringRule.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: CreditScoringRule, form: Any, change: bool
    ) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
        self.message_user(
            request,
            _(
                "The rule is saved. Run “Recompute all credit profiles” to apply it to every "
                "account."
            ),
            messages.WARNING,
        )

    @admin.action(
        description=_("Recompute all credit profiles with this rule"), permissions=["change"]
    )
    def recompute_all(
        self, request: HttpRequest, queryset: QuerySet[CreditScoringRule]
    ) -> TemplateResponse | None:
        response = confirm_action(
            self,
            request,
            queryset,
            action="recompute_all",
            title=_("Recompute all credit profiles"),
            question=_(
                "Recompute every account's credit profile with the current weights and bands? "
                "Scores, ratings and limits may change; each change is kept in the history."
            ),
        )
        if response is not None:
            return response
        job = crm_services.start_job(kind="accounts.recompute_credit", user=request.user)
        self.message_user(
            request,
            _("Recomputing in the background (job %(job)s).") % {"job": job.pk},
            messages.SUCCESS,
        )
        return None
