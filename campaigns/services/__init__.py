"""Use cases of campaigns and coupons. Callers import from ``campaigns.services``."""

from campaigns.services.campaigns import (
    audience_ids,
    change_campaign_status,
    check_funding_shares,
    set_funding,
    start_audience_issue,
    void_coupons,
)
from campaigns.services.expiry import expire_due_coupons
from campaigns.services.issuing import (
    Exchange,
    exchange_points_for_coupon,
    issue_coupon,
    run_bulk_issue,
    start_bulk_issue,
)
from campaigns.services.merge import move_coupon_data
from campaigns.services.redemption import (
    Redemption,
    Validation,
    parse_code,
    redeem_coupon,
    validate_coupon,
)
from campaigns.services.reversal import Reversal, reverse_redemption
from campaigns.services.rollup import refresh_rollup, start_rollup_job
from campaigns.services.triggers import (
    fire_for_event,
    fire_for_transactions,
    fire_rule,
    save_trigger_rule,
    set_trigger_rule_active,
    trigger_rule_problems,
)

__all__ = [
    "Exchange",
    "Redemption",
    "Reversal",
    "Validation",
    "audience_ids",
    "change_campaign_status",
    "check_funding_shares",
    "exchange_points_for_coupon",
    "expire_due_coupons",
    "fire_for_event",
    "fire_for_transactions",
    "fire_rule",
    "issue_coupon",
    "move_coupon_data",
    "parse_code",
    "redeem_coupon",
    "refresh_rollup",
    "reverse_redemption",
    "run_bulk_issue",
    "save_trigger_rule",
    "set_funding",
    "set_trigger_rule_active",
    "start_audience_issue",
    "start_bulk_issue",
    "start_rollup_job",
    "trigger_rule_problems",
    "validate_coupon",
    "void_coupons",
]
