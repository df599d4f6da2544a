"""The leads forms: parsing only; the rules (who holds the lead, the state machine, dates in
order, what conversion needs) are the services'."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.errors import DomainError
from leads.models import FollowUpKind, FollowUpOutcome, LostReason
from members.models import EnrolmentChannel

_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class FollowUpForm(forms.Form):
    kind = forms.ChoiceField(label=_("How"), choices=FollowUpKind.choices, initial="call")
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("", _("— not said —")), *FollowUpOutcome.choices],
        required=False,
    )
    note = forms.CharField(
        label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea({"rows": 2})
    )
    next_step = forms.CharField(label=_("Next step"), required=False, max_length=200)
    next_action_at = forms.DateTimeField(
        label=_("Next action"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=_DATETIME,
    )


class LoseForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why was it lost?"), choices=LostReason.choices)
    note = forms.CharField(label=_("Details"), required=False, max_length=300)


class ConvertCompanyForm(forms.Form):
    uscc = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        required=False,
        help_text=_("Not needed when the lead matched a company the master already knows."),
    )
    opportunity_name = forms.CharField(label=_("Opportunity"), max_length=200, required=False)
    amount = forms.DecimalField(
        label=_("Amount (CNY)"), min_value=0, max_digits=14, decimal_places=2, initial=0
    )
    expected_close = forms.DateField(
        label=_("Expected close"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class ConvertPersonForm(forms.Form):
    member_channel = forms.ChoiceField(
        label=_("Enrolment channel"), choices=EnrolmentChannel.choices, initial="store"
    )


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """The service's refusal on the field it names, else on the form."""
    field: Any = getattr(exc, "field", None)
    form.add_error(field if field in form.fields else None, exc.message)
