"""Read-only figures and lists of the lead pools. Callers import from ``leads.selectors``."""

from leads.selectors.funnel import (
    GROUPS,
    ChannelRow,
    FunnelRow,
    channel_roi,
    cohort,
    funnel,
    period_bounds,
)
from leads.selectors.panels import customer_leads_panel, lead_url, search_leads
from leads.selectors.search import name_search, search_condition

__all__ = [
    "GROUPS",
    "ChannelRow",
    "FunnelRow",
    "channel_roi",
    "cohort",
    "customer_leads_panel",
    "funnel",
    "lead_url",
    "name_search",
    "period_bounds",
    "search_condition",
    "search_leads",
]
