"""The campaign form: clear messages for a period out of order, a budget below what was
already issued, a segment changed after the audience was frozen. The trigger rule forms (the
admin's and the sentence-like screen's) on one base that asks the service what is wrong."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import (
    Campaign,
    CampaignChannel,
    CouponTemplate,
    TemplateFunding,
    TriggerRule,
)
from campaigns.services.triggers import rule_event_choices, trigger_rule_problems
from crm.models import BusinessUnit, Segment
from crm.policy import visible_unit_ids

RULE_FIELDS = [
    "name",
    "event_type",
    "source_business_unit",
    "min_amount",
    "data_key",
    "data_value",
    "template",
    "funding_business_unit",
    "budget_count",
    "budget_value",
]


class CampaignForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        label=gettext_lazy("channels"),
        choices=CampaignChannel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )

    class Meta:
        model = Campaign
        fields = [
            "business_unit",
            "name",
            "goal",
            "starts_on",
            "ends_on",
            "budget",
            "channels",
            "target_segment",
        ]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "goal": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "target_segment": gettext_lazy(
                "Its members are frozen as the campaign's audience when the campaign starts."
            ),
        }

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = BusinessUnit.objects.active().order_by("code")
        visible = visible_unit_ids(user)
        if visible is not None:
            units = units.filter(pk__in=visible)
        self.fields["business_unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["target_segment"].queryset = Segment.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["target_segment"].empty_label = _("No target segment")  # type: ignore[attr-defined]
        for name in ("name", "goal", "budget", "business_unit", "target_segment"):
            self.fields[name].widget.attrs.setdefault(
                "class",
                "form-select" if name in ("business_unit", "target_segment") else "form-control",
            )
        for name in ("starts_on", "ends_on"):
            self.fields[name].widget.attrs["class"] = "form-control"
        if self.instance.pk and self.instance.audience_snapshot_id:
            self.fields["target_segment"].disabled = True
            self.fields["target_segment"].help_text = _(
                "The audience was frozen when the campaign started; the segment cannot change."
            )
        if self.instance.pk and self.instance.issued_value:
            self.fields["business_unit"].disabled = True

    def clean_budget(self) -> Any:
        budget = self.cleaned_data["budget"]
        if budget is not None and budget < 0:
            raise forms.ValidationError(_("The budget cannot be negative."))
        issued = self.instance.issued_value if self.instance.pk else 0
        if budget is not None and budget < issued:
            raise forms.ValidationError(
                _("Coupons worth %(issued)s were issued already: the budget cannot be lower.")
                % {"issued": issued}
            )
        return budget

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The campaign ends on or after the day it starts."))
        return data


class TriggerRuleFormBase(forms.ModelForm):  # type: ignore[type-arg]
    """What the admin's and the marketing screens' rule forms share: the event choices from
    the registry, and the rule's consistency checked by the service
    (``trigger_rule_problems``), each problem shown beside its field."""

    event_type = forms.ChoiceField(label=gettext_lazy("event"), choices=())

    class Meta:
        model = TriggerRule
        fields = RULE_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["event_type"].choices = rule_event_choices()  # type: ignore[attr-defined]

    def _post_clean(self) -> None:
        super()._post_clean()
        for field, message in trigger_rule_problems(self.instance).items():
            if field not in self.errors:
                self.add_error(field if field in self.fields else None, message)


class TriggerRuleForm(TriggerRuleFormBase):
    """The marketing screen's sentence-like form: the paying unit among the user's units,
    templates those units fund; the rule's event may happen in any unit."""

    class Meta(TriggerRuleFormBase.Meta):
        widgets = {
            "min_amount": forms.NumberInput(attrs={"min": "0", "step": "0.01"}),
            "budget_value": forms.NumberInput(attrs={"min": "0", "step": "0.01"}),
            "budget_count": forms.NumberInput(attrs={"min": "1"}),
        }

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        visible = visible_unit_ids(user)
        payers = BusinessUnit.objects.active().order_by("code")
        templates = CouponTemplate.objects.filter(is_active=True)
        if visible is not None:
            payers = payers.filter(pk__in=visible)
            templates = templates.filter(
                pk__in=TemplateFunding.objects.filter(business_unit__in=visible).values(
                    "template_id"
                )
            )
        if self.instance.template_id:
            templates = templates | CouponTemplate.objects.filter(pk=self.instance.template_id)
        fields = self.fields
        fields["funding_business_unit"].queryset = payers  # type: ignore[attr-defined]
        fields["source_business_unit"].queryset = BusinessUnit.objects.active().order_by("code")  # type: ignore[attr-defined]
        fields["source_business_unit"].empty_label = _("any unit")  # type: ignore[attr-defined]
        fields["template"].queryset = templates.order_by("name", "id")  # type: ignore[attr-defined]
        for name, field in fields.items():
            select = isinstance(field.widget, forms.Select)
            css = "form-select" if select else "form-control"
            field.widget.attrs.setdefault("class", css)
            if name != "name":
                field.widget.attrs.setdefault("aria-label", str(field.label))

    def _post_clean(self) -> None:
        super()._post_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
