"""Trigger rules for marketing's screens: the rules of the user's units (the paying unit),
narrowed by a unit (paying or where the event happens) and whether they run, with the share
of their budget used (the larger of the count's and the face value's). One query a page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Case, DecimalField, F, Q, QuerySet, Value, When
from django.db.models.functions import Greatest

from campaigns.models import TriggerRule

_SHARE: DecimalField[Decimal, Decimal] = DecimalField(max_digits=7, decimal_places=2)


def _share(used: str, budget: str) -> Case:
    return Case(
        When(**{f"{budget}__gt": 0}, then=F(used) * Decimal("100.0") / F(budget)),
        default=Value(Decimal("0")),
        output_field=_SHARE,
    )


def trigger_rule_list(
    *, user: Any, unit_id: int | None = None, active: bool | None = None
) -> QuerySet[TriggerRule]:
    rows = TriggerRule.objects.visible_to(user).select_related(
        "source_business_unit", "template", "funding_business_unit", "owner"
    )
    if unit_id is not None:
        rows = rows.filter(Q(funding_business_unit_id=unit_id) | Q(source_business_unit_id=unit_id))
    if active is not None:
        rows = rows.filter(is_active=active)
    annotated: QuerySet[TriggerRule] = rows.annotate(
        used_share=Greatest(
            _share("issued_count", "budget_count"),
            _share("issued_value", "budget_value"),
            output_field=_SHARE,
        )
    )
    return annotated.order_by("-created_at", "-id")
