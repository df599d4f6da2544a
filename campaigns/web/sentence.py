"""A trigger rule as one readable sentence, for the rule list, the campaign page and the
``rule_sentence`` template filter."""

from __future__ import annotations

from typing import Any

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from campaigns.models import TriggerRule
from campaigns.services.triggers import rule_event_choices
from crm.money import format_count, format_money


def rule_sentence(rule: TriggerRule, *, events: dict[str, str] | None = None) -> SafeString:
    """``rule`` as one sentence, its terms in bold: "When a transaction is stored in the
    dealership (amount at least ¥100,000.00), issue “Property fee ¥200” to that customer,
    paid by the dealership; budget 100 coupons / ¥20,000.00." Reads the rule's units and
    template (select them with it) and no other row."""
    labels = events if events is not None else dict(rule_event_choices())

    def term(value: Any) -> str:
        return format_html("<strong>{}</strong>", value)

    currency = rule.template.currency
    condition = ""
    if rule.min_amount is not None:
        condition = conditional_escape(_(" (amount at least %(amount)s)")) % {
            "amount": term(format_money(rule.min_amount, currency))
        }
    elif rule.data_key:
        condition = conditional_escape(_(" (its %(key)s is %(value)s)")) % {
            "key": term(rule.data_key),
            "value": term(rule.data_value),
        }
    unit = rule.source_business_unit
    sentence = conditional_escape(
        _(
            "When “%(event)s” happens in %(unit)s%(condition)s, issue “%(template)s” to "
            "that customer, paid by %(payer)s; budget %(count)s coupons / %(value)s."
        )
    ) % {
        "event": term(labels.get(rule.event_type, rule.event_type)),
        "unit": term(unit.name if unit else _("any unit")),
        "condition": condition,
        "template": term(rule.template.name),
        "payer": term(rule.funding_business_unit.name),
        "count": term(format_count(rule.budget_count)),
        "value": term(format_money(rule.budget_value, currency)),
    }
    return mark_safe(sentence)  # noqa: S308  (every term escaped by format_html)
