"""Telling the people of a campaign that something ran out: a trigger rule's budget (its
owner), a template's stock (who created the template, the owners of the rules that issue it,
the owner of the campaign whose issue took the last coupon). Through ``crm.services.notify``,
in each recipient's language, once per exhaustion: the callers tell only on the transition
(the conditional ``UPDATE`` that took the last coupon, the one that stopped the rule), and the
deduplication key names that exhaustion."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, CouponTemplate, TriggerRule
from crm.money import format_money
from crm.services import notify

KIND_BUDGET = "campaigns.rule_budget_exhausted"
KIND_STOCK = "campaigns.template_stock_exhausted"


def _when(now: datetime) -> str:
    return timezone.localtime(now).strftime("%Y-%m-%d %H:%M")


def tell_budget_exhausted(rule: TriggerRule, now: datetime) -> int:
    """The rule's owner: the rule stopped, its budget cannot pay for one more coupon."""
    currency = rule.template.currency
    values = {
        "rule": rule.name,
        "when": _when(now),
        "count": rule.budget_count,
        "issued": rule.issued_count,
    }
    return notify(
        rule.owner_id,
        KIND_BUDGET,
        title=lambda: _("Trigger rule “%(rule)s” stopped: its budget is exhausted") % values,
        body=lambda: _(  # amounts formatted in the reader's language
            "On %(when)s the rule could not pay for one more coupon: %(issued)d of "
            "%(count)d coupons and %(issued_value)s of %(value)s face value are used. It "
            "issues nothing more until you raise its budget and switch it on again."
        )
        % {
            **values,
            "value": format_money(rule.budget_value, currency),
            "issued_value": format_money(rule.issued_value, currency),
        },
        link=reverse("admin:campaigns_triggerrule_change", args=[rule.pk]),
        dedup_key=f"rule-budget:{rule.pk}:{now.timestamp():.0f}",
        now=now,
    )


def tell_stock_exhausted(
    template_id: int, *, campaign_id: int | None = None, now: datetime | None = None
) -> int:
    """Whoever issues the template: its stock is gone (the issue that took the last coupon
    calls this, inside its transaction)."""
    now = now or timezone.now()
    template = CouponTemplate.objects.only("pk", "name", "stock", "created_by_id").get(
        pk=template_id
    )
    recipients = [template.created_by_id]
    recipients += list(
        TriggerRule.objects.filter(template_id=template_id, is_active=True).values_list(
            "owner_id", flat=True
        )
    )
    if campaign_id is not None:
        recipients += list(
            Campaign.objects.filter(pk=campaign_id).values_list("owner_id", flat=True)
        )
    values = {"name": template.name, "stock": template.stock, "when": _when(now)}
    return notify(
        [pk for pk in recipients if pk is not None],
        KIND_STOCK,
        title=lambda: _("Coupon template “%(name)s” is out of stock") % values,
        body=lambda: _(
            "On %(when)s the last of its %(stock)d coupons was issued: trigger rules, bulk "
            "issues and the desk are refused until the stock is raised."
        )
        % values,
        link=reverse("admin:campaigns_coupontemplate_change", args=[template_id]),
        dedup_key=f"template-stock:{template_id}:{template.stock}",
        now=now,
    )
