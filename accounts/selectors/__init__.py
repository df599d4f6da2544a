"""Reads of the accounts app (constant query counts; scoped by ``crm.policy``)."""

from accounts.selectors.credit import (
    CreditLookup,
    credit_lookup,
    credit_lookup_queryset,
    credit_reviews_due,
    credit_section_context,
    effective_credit_limit,
)
from accounts.selectors.panels import account_panel_context, organization_panel, person_panel
from accounts.selectors.pipeline import (
    BOARD_LIMIT,
    GROUPINGS,
    Card,
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
    "Card",
    "CreditLookup",
    "PipelineFilter",
    "account_list",
    "account_panel_context",
    "board_cards",
    "closing_soon",
    "credit_lookup",
    "credit_lookup_queryset",
    "credit_reviews_due",
    "credit_section_context",
    "effective_credit_limit",
    "forecast_table",
    "opportunity_history",
    "organization_panel",
    "person_panel",
    "pipeline_opportunities",
    "stage_cards",
    "stage_sums",
    "weighted_forecast",
]
