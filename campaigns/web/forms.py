"""The campaign form: clear messages for a period out of order, a budget below what was
already issued, a segment changed after the audience was frozen."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Campaign, CampaignChannel
from crm.models import BusinessUnit, Segment
from crm.policy import visible_unit_ids


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
