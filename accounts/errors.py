"""The refusals of the accounts app, each with a stable code (and the field, when one)."""

from __future__ import annotations

from crm.errors import DomainError


class AccountError(DomainError):
    code = "account_invalid"


class AccountCycle(AccountError):
    code = "account_cycle"


class NotAnOrganization(AccountError):
    code = "not_an_organization"


class PrimaryContactTaken(AccountError):
    code = "primary_contact_taken"
    status = 409


class ContactExists(AccountError):
    code = "contact_exists"
    status = 409


class InvalidRelation(AccountError):
    code = "invalid_relation"


class OpportunityError(DomainError):
    code = "opportunity_invalid"


class LostReasonRequired(OpportunityError):
    code = "lost_reason_required"


class NotAllowed(DomainError):
    code = "not_allowed"
    status = 403


class CreditError(DomainError):
    code = "credit_invalid"
