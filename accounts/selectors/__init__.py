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
from accounts.selectors.pipeline import GROUPINGS, account_list, stage_sums, weighted_forecast

__all__ = [
    "GROUPINGS",
    "CreditLookup",
    "account_list",
    "account_panel_context",
    "credit_lookup",
    "credit_lookup_queryset",
    "credit_reviews_due",
    "credit_section_context",
    "effective_credit_limit",
    "organization_panel",
    "person_panel",
    "stage_sums",
    "weighted_forecast",
]
