"""Refusals of the coupon programme, each with a stable code the API renders as problem+json
(and the desk screen as a message in large type)."""

from __future__ import annotations

from crm.errors import DomainError
from crm.services.blacklist import CustomerBlacklisted

__all__ = [
    "BelowMinimumSpend",
    "CampaignBudgetExhausted",
    "CampaignTransitionRefused",
    "CouponAlreadyRedeemed",
    "CouponCheckFailed",
    "CouponCodeMalformed",
    "CouponError",
    "CouponExhausted",
    "CouponExpired",
    "CouponLimitReached",
    "CouponNotYetValid",
    "CouponUnknown",
    "CouponVoided",
    "CustomerBlacklisted",
    "InvalidCouponRequest",
    "NotRedeemableHere",
    "ReferenceReused",
    "ReversalRefused",
    "TemplateInactive",
]


class CouponError(DomainError):
    """Base of the coupon refusals."""

    code = "coupon_error"
    status = 409


class CouponCodeMalformed(CouponError):
    """Not 14 characters of the code alphabet (found without a lookup)."""

    code = "coupon_code_malformed"
    status = 400


class CouponCheckFailed(CouponError):
    """The check character does not match: a typo, caught before any lookup."""

    code = "coupon_check_failed"
    status = 400


class CouponUnknown(CouponError):
    code = "coupon_unknown"
    status = 404


class CouponNotYetValid(CouponError):
    code = "coupon_not_yet_valid"


class CouponExpired(CouponError):
    code = "coupon_expired"


class NotRedeemableHere(CouponError):
    code = "not_redeemable_here"


class BelowMinimumSpend(CouponError):
    code = "below_minimum_spend"


class CouponAlreadyRedeemed(CouponError):
    code = "coupon_redeemed"


class CouponVoided(CouponError):
    code = "coupon_voided"


class CouponExhausted(CouponError):
    """The template's stock is used up."""

    code = "coupon_exhausted"


class CampaignBudgetExhausted(CouponError):
    """The campaign's budget cannot pay for one more coupon of this face value."""

    code = "campaign_budget_exhausted"


class CouponLimitReached(CouponError):
    """The customer already holds as many coupons of this template as one may."""

    code = "coupon_limit_reached"


class TemplateInactive(CouponError):
    code = "template_inactive"


class ReferenceReused(CouponError):
    """The unit's reference already names another redemption or reversal."""

    code = "reference_reused"


class ReversalRefused(CouponError):
    code = "reversal_refused"


class InvalidCouponRequest(CouponError):
    code = "invalid_request"
    status = 400


class CampaignTransitionRefused(DomainError):
    code = "campaign_transition_refused"
    status = 409


class NoAudience(DomainError):
    code = "campaign_no_audience"
    status = 409
