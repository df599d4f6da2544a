"""The refusals of the lead pools, each with a stable code (and the field, when one)."""

from __future__ import annotations

from crm.errors import DomainError


class LeadError(DomainError):
    code = "lead_invalid"


class ClaimRefused(LeadError):
    """A claim or assignment the pool's rules refuse; ``code`` says which rule."""

    code = "claim_refused"
    status = 409


class HoldLimitReached(ClaimRefused):
    code = "hold_limit_reached"


class DailyQuotaReached(ClaimRefused):
    code = "daily_quota_reached"


class ClaimCooldown(ClaimRefused):
    code = "cooldown"


class AlreadyClaimed(ClaimRefused):
    code = "already_claimed"


class PoolEmpty(ClaimRefused):
    code = "pool_empty"


class LeadQuarantined(ClaimRefused):
    code = "quarantined"


class LeadNotHeld(LeadError):
    """A follow-up, status change or conversion by somebody who does not hold the lead (any
    more: it may have been recycled a moment ago)."""

    code = "lead_not_held"
    status = 409


class InvalidTransition(LeadError):
    code = "invalid_transition"
    status = 409


class LeadNotAllowed(LeadError):
    code = "not_allowed"
    status = 403
