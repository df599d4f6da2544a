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
from accounts.services.merge import move_account_data
from accounts.services.opportunities import (
    create_opportunity,
    move_opportunity,
    reassign_opportunity,
    update_opportunity,
)

__all__ = [
    "AccountResult",
    "add_contact",
    "add_relation",
    "assign_owner",
    "contact_left",
    "create_account",
    "create_opportunity",
    "move_account_data",
    "move_opportunity",
    "reassign_opportunity",
    "set_business_units",
    "set_parent",
    "update_account",
    "update_contact",
    "update_opportunity",
    "would_cycle",
]
