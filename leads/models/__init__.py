"""Lead pools: pools, leads, follow-ups, the lead history, channel spend."""

from leads.models.activity import (
    MOVEMENT_KINDS,
    FollowUp,
    FollowUpKind,
    FollowUpOutcome,
    LeadEvent,
    LeadEventKind,
)
from leads.models.leads import (
    CLOSED_STATUSES,
    HELD_STATUSES,
    OPEN_STATUSES,
    TRANSITIONS,
    Lead,
    LeadKind,
    LeadQuerySet,
    LeadSource,
    LeadStatus,
    LostReason,
)
from leads.models.pools import (
    AssignmentStrategy,
    ChannelCost,
    HoldLimit,
    LeadPool,
    LeadPoolMember,
    PoolKind,
    PoolRole,
    RepHolding,
)
from leads.models.routing import RoutingRule, match_key, normalize_values, split_values

__all__ = [
    "CLOSED_STATUSES",
    "HELD_STATUSES",
    "MOVEMENT_KINDS",
    "OPEN_STATUSES",
    "TRANSITIONS",
    "AssignmentStrategy",
    "ChannelCost",
    "FollowUp",
    "FollowUpKind",
    "FollowUpOutcome",
    "HoldLimit",
    "Lead",
    "LeadEvent",
    "LeadEventKind",
    "LeadKind",
    "LeadPool",
    "LeadPoolMember",
    "LeadQuerySet",
    "LeadSource",
    "LeadStatus",
    "LostReason",
    "PoolKind",
    "PoolRole",
    "RepHolding",
    "RoutingRule",
    "match_key",
    "normalize_values",
    "split_values",
]
