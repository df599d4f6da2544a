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
from accounts.models.credit import (
    ChangeReason,
    CreditBand,
    CreditEvidence,
    CreditProfile,
    CreditScoreChange,
    CreditScoringRule,
    CreditWeight,
    EvidenceEffect,
    EvidenceKind,
    Rating,
)
from accounts.models.opportunities import (
    Opportunity,
    OpportunityContact,
    OpportunityStage,
    OpportunityStageChange,
    OpportunityTotal,
)

__all__ = [
    "Account",
    "AccountRelation",
    "AccountStatus",
    "ChangeReason",
    "Contact",
    "ContactRole",
    "CreditBand",
    "CreditEvidence",
    "CreditProfile",
    "CreditScoreChange",
    "CreditScoringRule",
    "CreditWeight",
    "EvidenceEffect",
    "EvidenceKind",
    "Industry",
    "Opportunity",
    "OpportunityContact",
    "OpportunityStage",
    "OpportunityStageChange",
    "OpportunityTotal",
    "Rating",
    "RelationKind",
    "SizeBand",
]
