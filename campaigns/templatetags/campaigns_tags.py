"""``{{ rule|rule_sentence }}``: a trigger rule as one readable sentence."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from campaigns.models import TriggerRule
from campaigns.web.sentence import rule_sentence as sentence

register = template.Library()


@register.filter
def rule_sentence(rule: TriggerRule) -> SafeString:
    return sentence(rule)
