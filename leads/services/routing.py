"""Routing rules on intake: a new lead submitted without a pool goes to the pool (and the rep)
of the first active rule of its unit that matches its region, industry and source (lowest
priority number first). A rule naming a rep gives the lead to that rep at once, through the
same lock and hold-limit check as every assignment (``leads.services.claiming``); a rep
without room (or no longer an active rep of the pool) leaves the lead in the rule's pool,
where the pool's own strategy (round-robin, least loaded) may then assign it.

The rules of a unit are read in one query; a batch (the API's 500 rows, an import) reads them
once and hands them to every ``intake_lead`` call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from crm.models import BusinessUnit
from leads.errors import HoldLimitReached
from leads.models import Lead, LeadEventKind, RoutingRule, rule_reps
from leads.services.claiming import check_hold, limits_for, lock_holding, take_lead
from leads.services.common import EVENT_ASSIGNED, lead_label, notify, timeline

# The history's reason code for a lead routed by a rule (the rule's name goes in the note).
ROUTING_REASON = "routing_rule"


def routing_rules(unit: BusinessUnit | int) -> list[RoutingRule]:
    """The unit's active rules whose pool is an active pool of the unit, in the order they are
    tried, with their pool and rep, and whether the rep is still an active rep of the pool
    (``rep_ok``): one query."""
    unit_id = unit if isinstance(unit, int) else unit.pk
    rep_is_member = rule_reps(OuterRef("pool")).filter(pk=OuterRef("rep"))
    return list(
        RoutingRule.objects.filter(
            business_unit_id=unit_id,
            is_active=True,
            pool__is_active=True,
            pool__business_unit_id=unit_id,
        )
        .select_related("pool", "rep")
        .annotate(rep_ok=Exists(rep_is_member))
        .order_by("priority", "pk")
    )


def match_rule(rules: Sequence[RoutingRule], fields: dict[str, Any]) -> RoutingRule | None:
    """The first rule matching the lead's (cleaned) fields, or ``None``."""
    for rule in rules:
        if rule.matches(
            region=fields.get("region", ""),
            industry=fields.get("industry", ""),
            source=fields.get("source", ""),
        ):
            return rule
    return None


def assign_by_rule(*, lead: Lead, rule: RoutingRule, now: datetime) -> bool:
    """Give the new lead (inside intake's transaction) to the rule's rep if the rep is still an
    active rep of the pool and has room under the hold limit; whether it was given."""
    rep = rule.rep
    if rep is None or not getattr(rule, "rep_ok", False):
        return False
    unit_id = lead.business_unit_id
    lock_holding(rep, unit_id)
    try:
        check_hold(rep, unit_id, limits_for(rep, rule.pool))
    except HoldLimitReached:
        return False
    take_lead(
        lead,
        rep,
        kind=LeadEventKind.ASSIGNED,
        actor=None,
        now=now,
        reason=ROUTING_REASON,
        note=rule.name,
    )
    timeline(
        lead,
        EVENT_ASSIGNED,
        _("Lead assigned by the routing rule “%(rule)s”") % {"rule": rule.name},
        at=now,
        routing_rule=rule.pk,
    )
    notify(
        rep.pk,
        lead,
        LeadEventKind.ASSIGNED,
        lambda: _("New lead “%(lead)s” assigned to you by the routing rule “%(rule)s”.")
        % {"lead": lead_label(lead), "rule": rule.name},
        at=now,
    )
    return True
