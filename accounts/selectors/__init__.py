"""Reads of the accounts app (constant query counts; scoped by ``crm.policy``)."""

from accounts.selectors.panels import account_panel_context, organization_panel, person_panel
from accounts.selectors.pipeline import GROUPINGS, account_list, stage_sums, weighted_forecast

__all__ = [
    "GROUPINGS",
    "account_list",
    "account_panel_context",
    "organization_panel",
    "person_panel",
    "stage_sums",
    "weighted_forecast",
]
