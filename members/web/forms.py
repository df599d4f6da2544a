"""The desk's forms: they parse and validate input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import BusinessUnit
from members.models import EnrolmentChannel


class UnitChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} · {obj.name}"


def _units(user: Any) -> Any:
    return BusinessUnit.objects.visible_to(user).order_by("code")


class AdjustForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points"),
        help_text=_("Positive to add, negative to remove."),
        min_value=-10_000_000,
        max_value=10_000_000,
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, widget=forms.TextInput)
    business_unit = UnitChoiceField(label=_("Business unit"), queryset=BusinessUnit.objects.none())
    expires_on = forms.DateField(
        label=_("Points expire on"),
        required=False,
        help_text=_("For added points; empty: the unit's usual validity."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = _units(user)
        field = self.fields["business_unit"]
        field.queryset = units  # type: ignore[attr-defined]
        if not self.is_bound:
            field.initial = units.first()

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Give a whole number of points, not zero."))
        return points


class EnrolForm(forms.Form):
    customer = forms.IntegerField(widget=forms.HiddenInput, required=False)
    phone = forms.CharField(label=_("Mobile phone"), max_length=40, required=False)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=EnrolmentChannel.choices, initial=EnrolmentChannel.STORE
    )
    business_unit = UnitChoiceField(label=_("Business unit"), queryset=BusinessUnit.objects.none())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = _units(user)
        field = self.fields["business_unit"]
        field.queryset = units  # type: ignore[attr-defined]
        if not self.is_bound:
            field.initial = units.first()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("customer") and not (data.get("phone") or "").strip():
            self.add_error("phone", _("Give the customer's mobile phone to enrol them."))
        return data


class StatusForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")])
    comment = forms.CharField(max_length=300, required=False)
