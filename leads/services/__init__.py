"""Use cases of the lead pools. Callers import from ``leads.services``."""

from leads.services.assignment import assign_on_intake, rep_load
from leads.services.claim_next import claim_next
from leads.services.claiming import (
    Limits,
    assign_lead,
    assign_leads,
    claim_lead,
    held_count,
    limits_for,
    may_manage,
    may_work_pool,
    release_lead,
)
from leads.services.common import public_pool
from leads.services.conversion import Conversion, convert_lead
from leads.services.intake import (
    IntakeResult,
    LeadInput,
    clean_lead_input,
    intake_lead,
    named_pool,
)
from leads.services.merge import move_lead_data
from leads.services.recycling import RecycleReport, recycle_overdue_leads
from leads.services.routing import routing_rules
from leads.services.working import log_follow_up, lose_lead, qualify_lead, set_status

__all__ = [
    "Conversion",
    "IntakeResult",
    "LeadInput",
    "Limits",
    "RecycleReport",
    "assign_lead",
    "assign_leads",
    "assign_on_intake",
    "claim_lead",
    "claim_next",
    "clean_lead_input",
    "convert_lead",
    "held_count",
    "intake_lead",
    "limits_for",
    "log_follow_up",
    "lose_lead",
    "may_manage",
    "may_work_pool",
    "move_lead_data",
    "named_pool",
    "public_pool",
    "qualify_lead",
    "recycle_overdue_leads",
    "release_lead",
    "rep_load",
    "routing_rules",
    "set_status",
]
