"""Reads of the accounts app (constant query counts; scoped by ``crm.policy``)."""

from accounts.selectors.panels import account_panel_context, organization_panel, person_panel
from accounts.selectors.pipeline import (
    BOARD_LIMIT,
    GROUPINGS,
    PipelineFilter,
    account_list,
    board_cards,
    closing_soon,
    forecast_table,
    opportunity_history,
    pipeline_opportunities,
    stage_cards,
    stage_sums,
    weighted_forecast,
)

__all__ = [
    "BOARD_LIMIT",
    "GROUPINGS",
    "PipelineFilter",
    "account_list",
    "account_panel_context",
    "board_cards",
    "closing_soon",
    "forecast_table",
    "opportunity_history",
    "organization_panel",
    "person_panel",
    "pipeline_opportunities",
    "stage_cards",
    "stage_sums",
    "weighted_forecast",
]
