"""The routing rules' admin: which pool (and rep) a new lead goes to by its region, industry
and source.

The rep is picked among the active reps of the pool chosen in the same form (``rule_reps``:
what the model's validation accepts, one definition): ``PoolRepSelect`` asks
``RoutingRuleAdmin.rep_choices`` for them as the pool changes, and a rep submitted anyway
that does not fit is refused on the rep field, naming the rep and the pool
(``RoutingRule.clean``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.db.models.functions import Concat
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.admin.base import ScopedAdminMixin
from leads.models import LeadPool, LeadSource, RoutingRule, rep_label, rule_reps, split_values

REPS_PER_PAGE = 20


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


class PoolRepSelect(AutocompleteSelect):
    """The rule's rep: select2 asking ``url`` for the active reps of the pool chosen in the
    form's ``pool`` field (``static/js/rule_rep_picker.js``; the rep is cleared when the pool
    changes)."""

    def __init__(self, field: Any, admin_site: Any, url: str) -> None:
        super().__init__(field, admin_site)
        self.url = url

    def get_url(self) -> str:
        return self.url

    def build_attrs(self, base_attrs: Any, extra_attrs: Any = None) -> dict[str, Any]:
        attrs: dict[str, Any] = super().build_attrs(base_attrs, extra_attrs=extra_attrs)
        # Not ``admin-autocomplete``: Django's script would ask its own view, without the pool.
        attrs["class"] = attrs["class"].replace("admin-autocomplete", "leads-rep-autocomplete")
        attrs["data-pool-field"] = "id_pool"
        return attrs

    @property
    def media(self) -> forms.Media:
        return super().media + forms.Media(js=["js/rule_rep_picker.js"])


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
    autocomplete_fields = ["business_unit", "pool"]
    ordering = ["business_unit", "priority", "id"]

    def get_urls(self) -> list[URLPattern]:
        reps = path(
            "reps/", self.admin_site.admin_view(self.rep_choices), name="leads_routingrule_reps"
        )
        return [reps, *super().get_urls()]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "rep":
            url = reverse(f"{self.admin_site.name}:leads_routingrule_reps")
            kwargs["widget"] = PoolRepSelect(db_field, self.admin_site, url)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and db_field.name == "rep":
            field.label_from_instance = rep_label
        return field

    def rep_choices(self, request: HttpRequest) -> JsonResponse:
        """``?pool=&term=&page=``: the active reps of a pool the user sees, as select2 reads
        them (``results``, ``pagination``); no pool chosen: a line saying to choose it."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        raw = request.GET.get("pool", "")
        pool = (
            LeadPool.objects.visible_to(request.user).filter(pk=int(raw)).first()
            if raw.isdigit()
            else None
        )
        if pool is None:
            # Not "": select2 hides the option of the placeholder's id. Disabled: not a choice.
            hint = {"id": "-", "text": gettext("Choose the target pool first."), "disabled": True}
            return JsonResponse({"results": [hint], "pagination": {"more": False}})
        reps = rule_reps(pool).order_by("username")
        term = " ".join(request.GET.get("term", "").split())[:50]
        if term:
            reps = reps.alias(full_name=Concat("last_name", "first_name")).filter(
                Q(username__icontains=term)
                | Q(first_name__icontains=term)
                | Q(last_name__icontains=term)
                | Q(full_name__icontains=term.replace(" ", ""))
            )
        raw_page = request.GET.get("page", "")
        start = (max(int(raw_page), 1) - 1 if raw_page.isdigit() else 0) * REPS_PER_PAGE
        found = list(
            reps.only("id", "username", "first_name", "last_name")[
                start : start + REPS_PER_PAGE + 1
            ]
        )
        results = [{"id": str(user.pk), "text": rep_label(user)} for user in found]
        return JsonResponse(
            {
                "results": results[:REPS_PER_PAGE],
                "pagination": {"more": len(found) > REPS_PER_PAGE},
            }
        )

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
