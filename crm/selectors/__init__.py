"""Reading data for screens and the API. Callers import from ``crm.selectors``."""

from crm.selectors.customers import (
    CustomerPage,
    current_consents,
    customer_list,
    customer_overview,
    customer_search_results,
    customer_timeline,
    customer_transactions,
    duplicate_queue,
    estimated_customer_count,
    estimated_row_count,
    exact_identity_filter,
    parse_search,
    timeline_units,
)
from crm.selectors.platform import (
    business_unit_list,
    business_unit_members,
    job_list,
    search_business_units,
    search_users,
    users_per_role,
)

__all__ = [
    "CustomerPage",
    "business_unit_list",
    "business_unit_members",
    "current_consents",
    "customer_list",
    "customer_overview",
    "customer_search_results",
    "customer_timeline",
    "customer_transactions",
    "duplicate_queue",
    "estimated_customer_count",
    "estimated_row_count",
    "exact_identity_filter",
    "job_list",
    "parse_search",
    "search_business_units",
    "search_users",
    "timeline_units",
    "users_per_role",
]
