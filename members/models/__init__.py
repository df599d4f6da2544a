"""B2C members: the group's loyalty programme (members, levels, points ledger, rules)."""

from members.models.ledger import (
    REFERENCE_MAX,
    AdjustmentProposal,
    AdjustmentStatus,
    EntryKind,
    LotConsumption,
    PointsEntry,
    PointsLot,
)
from members.models.members import (
    EnrolmentChannel,
    LevelChange,
    LevelChangeReason,
    Member,
    MemberNumberAlias,
    MemberStatus,
)
from members.models.program import (
    EarningRule,
    Level,
    PointValue,
    ProgramSettings,
    QualificationBasis,
    Rounding,
)

__all__ = [
    "REFERENCE_MAX",
    "AdjustmentProposal",
    "AdjustmentStatus",
    "EarningRule",
    "EnrolmentChannel",
    "EntryKind",
    "Level",
    "LevelChange",
    "LevelChangeReason",
    "LotConsumption",
    "Member",
    "MemberNumberAlias",
    "MemberStatus",
    "PointValue",
    "PointsEntry",
    "PointsLot",
    "ProgramSettings",
    "QualificationBasis",
    "Rounding",
]
