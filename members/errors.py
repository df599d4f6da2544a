"""The programme's refusals, each with a stable code the API renders as problem+json."""

from __future__ import annotations

from crm.errors import DomainError
from crm.services.blacklist import CustomerBlacklisted


class NotAMember(DomainError):
    code = "not_a_member"
    status = 404


class MemberFrozen(DomainError):
    code = "member_frozen"
    status = 409


class InsufficientPoints(DomainError):
    code = "insufficient_points"
    status = 409


class ReferenceReused(DomainError):
    """The (unit, reference) of this request was used before for a different request."""

    code = "reference_reused"
    status = 409


class InvalidPointsRequest(DomainError):
    code = "invalid_request"
    status = 400


class NoEarningRule(DomainError):
    code = "no_earning_rule"
    status = 409


class NotAllowed(DomainError):
    code = "forbidden"
    status = 403


class AdjustmentRefused(DomainError):
    code = "adjustment_refused"
    status = 409


class EnrolmentRefused(DomainError):
    code = "enrolment_refused"
    status = 409


__all__ = [
    "AdjustmentRefused",
    "CustomerBlacklisted",
    "EnrolmentRefused",
    "InsufficientPoints",
    "InvalidPointsRequest",
    "MemberFrozen",
    "NoEarningRule",
    "NotAMember",
    "NotAllowed",
    "ReferenceReused",
]
