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

__all__ = [
    "GROUPS",
    "ChannelRow",
    "FunnelRow",
    "channel_roi",
    "cohort",
    "funnel",
    "period_bounds",
]
