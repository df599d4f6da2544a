"""The segment form: a name, a description and a rule edited in the builder."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import SEGMENT_NAME_MAX
from crm.web.rule_builder import RuleBuilderWidget


def parse_rule(text: str) -> Any:
    """The builder's JSON, or ``None`` when it is not JSON (the validator then says so)."""
    try:
        return json.loads(text or "null")
    except ValueError:
        return None


class SegmentForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=SEGMENT_NAME_MAX,
        widget=forms.TextInput(attrs={"class": "form-control", "data-testid": "segment-name"}),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=300,
        required=False,
        widget=forms.TextInput(
            attrs={"class": "form-control", "data-testid": "segment-description"}
        ),
    )
    rule = forms.CharField(
        label=_("Who is in it"),
        required=False,
        widget=RuleBuilderWidget(attrs={"id": "segment-rule"}),
    )
