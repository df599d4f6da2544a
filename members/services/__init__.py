"""Use cases of the loyalty programme. Callers import from ``members.services``."""

from members.services.adjustments import (
    adjust_points,
    apply_adjustment,
    approve_adjustment,
    reject_adjustment,
)
from members.services.enrolment import Enrolment, enrol_member, freeze_member, unfreeze_member
from members.services.expiry import expire_due_points
from members.services.ledger import PointsResult
from members.services.levels import evaluate_levels, upgrade_if_qualified
from members.services.merge import move_member_data
from members.services.orders import earn_for_transaction, earn_for_transactions
from members.services.points import earn_points, redeem_points, reverse_order

__all__ = [
    "Enrolment",
    "PointsResult",
    "adjust_points",
    "apply_adjustment",
    "approve_adjustment",
    "earn_for_transaction",
    "earn_for_transactions",
    "earn_points",
    "enrol_member",
    "evaluate_levels",
    "expire_due_points",
    "freeze_member",
    "move_member_data",
    "redeem_points",
    "reject_adjustment",
    "reverse_order",
    "unfreeze_member",
    "upgrade_if_qualified",
]
