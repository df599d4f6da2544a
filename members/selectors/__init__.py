"""Reads of the loyalty programme for screens and the API. Import from ``members.selectors``."""

from members.selectors.ledger import (
    EXPIRING_DAYS,
    LedgerPage,
    LevelProgress,
    MemberSummary,
    balances_check,
    expiring_points,
    ledger_page,
    level_progress,
    member_lots,
    member_summary,
)
from members.selectors.liability import Liability, points_liability
from members.selectors.lookup import (
    MemberSearch,
    find_members,
    member_by_number,
    member_by_qr,
    member_of_customer,
)

__all__ = [
    "EXPIRING_DAYS",
    "LedgerPage",
    "LevelProgress",
    "Liability",
    "MemberSearch",
    "MemberSummary",
    "balances_check",
    "expiring_points",
    "find_members",
    "ledger_page",
    "level_progress",
    "member_by_number",
    "member_by_qr",
    "member_lots",
    "member_of_customer",
    "member_summary",
    "points_liability",
]
