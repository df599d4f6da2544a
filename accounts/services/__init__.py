"""Use cases of the accounts app. Callers import from ``accounts.services``."""

from accounts.services.accounts import (
    AccountResult,
    add_relation,
    assign_owner,
    create_account,
    set_business_units,
    set_parent,
    update_account,
    would_cycle,
)
from accounts.services.contacts import add_contact, contact_left, update_contact
from accounts.services.credit import (
    add_credit_evidence,
    complete_credit_review,
    flag_due_credit_reviews,
    load_rule,
    move_credit_data,
    recompute_all_credit,
    recompute_credit,
)
from accounts.services.merge import move_account_data
from accounts.services.opportunities import (
    create_opportunity,
    move_opportunity,
    reassign_opportunity,
    rebuild_opportunity_totals,
    update_opportunity,
)

__all__ = [
    "AccountResult",
    "add_contact",
    "add_credit_evidence",
    "add_relation",
    "assign_owner",
    "complete_credit_review",
    "contact_left",
    "create_account",
    "create_opportunity",
    "flag_due_credit_reviews",
    "load_rule",
    "move_account_data",
    "move_credit_data",
    "move_opportunity",
    "reassign_opportunity",
    "rebuild_opportunity_totals",
    "recompute_all_credit",
    "recompute_credit",
    "set_business_units",
    "set_parent",
    "update_account",
    "update_contact",
    "update_opportunity",
    "would_cycle",
]
