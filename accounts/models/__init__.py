"""B2B accounts: companies on the customer master, their contacts in roles, the group
hierarchy, relations between accounts and the opportunity pipeline."""

from accounts.models.accounts import (
    Account,
    AccountRelation,
    AccountStatus,
    Industry,
    RelationKind,
    SizeBand,
)
from accounts.models.contacts import Contact, ContactRole
from accounts.models.opportunities import (
    Opportunity,
    OpportunityContact,
    OpportunityStage,
    OpportunityStageChange,
)

__all__ = [
    "Account",
    "AccountRelation",
    "AccountStatus",
    "Contact",
    "ContactRole",
    "Industry",
    "Opportunity",
    "OpportunityContact",
    "OpportunityStage",
    "OpportunityStageChange",
    "RelationKind",
    "SizeBand",
]
