"""Campaigns, coupon templates, coupons and trigger rules."""

from campaigns.models.campaigns import (
    CAMPAIGN_TRANSITIONS,
    Campaign,
    CampaignChannel,
    CampaignStatus,
)
from campaigns.models.coupons import (
    REFERENCE_MAX,
    BulkIssue,
    BulkIssueStatus,
    Coupon,
    CouponHolding,
    CouponKind,
    CouponReversal,
    CouponStatus,
    CouponTemplate,
    IssueSource,
    TemplateFunding,
)
from campaigns.models.rollup import CouponMonthRollup, CouponRollupMark, CouponRollupState
from campaigns.models.triggers import (
    TRANSACTION_EVENT,
    FiringOutcome,
    TriggerFiring,
    TriggerRule,
)

__all__ = [
    "CAMPAIGN_TRANSITIONS",
    "REFERENCE_MAX",
    "TRANSACTION_EVENT",
    "BulkIssue",
    "BulkIssueStatus",
    "Campaign",
    "CampaignChannel",
    "CampaignStatus",
    "Coupon",
    "CouponHolding",
    "CouponKind",
    "CouponMonthRollup",
    "CouponReversal",
    "CouponRollupMark",
    "CouponRollupState",
    "CouponStatus",
    "CouponTemplate",
    "FiringOutcome",
    "IssueSource",
    "TemplateFunding",
    "TriggerFiring",
    "TriggerRule",
]
