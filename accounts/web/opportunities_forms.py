"""The opportunity forms: parsing only; the rules (names, amounts, currencies, stages,
contacts at the account) are the services'."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Contact, OpportunityStage
from crm.imports.currencies import ISO_CURRENCIES
from crm.money import SYMBOLS

CURRENCY_CHOICES = [(c, c) for c in SYMBOLS] + [
    (c, c) for c in sorted(ISO_CURRENCIES) if c not in SYMBOLS
]


class OpportunityForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=14, decimal_places=2)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, initial="CNY")
    expected_close = forms.DateField(
        label=_("Expected close"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    products = forms.CharField(label=_("Products"), max_length=300, required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea({"rows": 3}))


class CreateOpportunityForm(OpportunityForm):
    """A new opportunity at one of the user's visible accounts, in one of their units."""

    field_order = ["account", "name", "business_unit", "stage", "amount", "currency"]

    account = forms.ModelChoiceField(label=_("Account"), queryset=Account.objects.none())
    business_unit = forms.ModelChoiceField(label=_("Business unit"), queryset=None)  # type: ignore[arg-type]
    stage = forms.ModelChoiceField(
        label=_("Stage"),
        queryset=OpportunityStage.objects.filter(is_active=True, is_lost=False, is_won=False),
        empty_label=None,
    )
    contacts = forms.ModelMultipleChoiceField(
        label=_("Contacts involved"),
        queryset=Contact.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("They take part in their roles at the account."),
    )

    def __init__(self, *args: Any, accounts: Any, units: Any, contacts: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        account_field: Any = self.fields["account"]
        account_field.queryset = accounts
        account_field.label_from_instance = lambda a: a.customer.shown_name
        unit_field: Any = self.fields["business_unit"]
        unit_field.queryset = units
        contact_field: Any = self.fields["contacts"]
        contact_field.queryset = contacts
        contact_field.label_from_instance = _contact_label


def _contact_label(contact: Contact) -> str:
    roles = ", ".join(r.name for r in contact.roles.all())
    parts = [str(contact.person.shown_name), contact.title, roles]
    return " · ".join(p for p in parts if p)
