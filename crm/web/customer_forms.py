"""The form that creates a customer from the list screen (through ``resolve_customer``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import BusinessUnit, CustomerKind
from crm.normalizers import InvalidIdentity, normalize_email, normalize_phone, normalize_uscc
from crm.services import IdentityInput

IDENTITY_FIELDS = {"mobile": "mobile", "email": "email", "uscc": "uscc"}
_NORMALIZE = {"mobile": normalize_phone, "email": normalize_email, "uscc": normalize_uscc}


class CustomerCreateForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=CustomerKind.choices,
        initial=CustomerKind.PERSON,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    display_name = forms.CharField(
        label=_("Name"),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
        help_text=_("A person's full name, or an organization's name."),
    )
    mobile = forms.CharField(
        label=_("Mobile phone"),
        required=False,
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "class": "form-control identity-input",
                "autocomplete": "off",
                "inputmode": "tel",
            }
        ),
    )
    email = forms.CharField(
        label=_("E-mail"),
        required=False,
        max_length=254,
        widget=forms.TextInput(
            attrs={
                "class": "form-control identity-input",
                "autocomplete": "off",
                "inputmode": "email",
            }
        ),
    )
    uscc = forms.CharField(
        label=_("Unified social credit code"),
        required=False,
        max_length=40,
        help_text=_("Organizations only: the 18-character code on the business licence."),
        widget=forms.TextInput(
            attrs={"class": "form-control identity-input", "autocomplete": "off"}
        ),
    )
    business_unit = forms.ModelChoiceField(
        label=_("Business unit"),
        queryset=BusinessUnit.objects.none(),
        help_text=_("Where the customer was met; recorded on the new customer's timeline."),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = BusinessUnit.objects.visible_to(user).active().order_by("code")
        field = self.fields["business_unit"]
        field.queryset = units  # type: ignore[attr-defined]
        if not self.is_bound and len(ids := list(units.values_list("pk", flat=True)[:2])) == 1:
            field.initial = ids[0]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        found = False
        for name, normalize in _NORMALIZE.items():
            raw = (data.get(name) or "").strip()
            if not raw:
                continue
            try:
                data[name] = normalize(raw, field=name)
                found = True
            except InvalidIdentity as exc:
                self.add_error(name, exc.message)
        if data.get("uscc") and data.get("kind") == CustomerKind.PERSON:
            self.add_error("uscc", _("Only an organization has a unified social credit code."))
        if not found and not any(self.has_error(n) for n in _NORMALIZE):
            self.add_error("mobile", _("Give at least a mobile phone, an e-mail or a credit code."))
        return data

    def identities(self) -> list[IdentityInput]:
        return [
            IdentityInput(type_, self.cleaned_data[name])
            for name, type_ in IDENTITY_FIELDS.items()
            if self.cleaned_data.get(name)
        ]
