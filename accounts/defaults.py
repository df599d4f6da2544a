"""The contact roles and opportunity stages a new installation starts with (admins edit
them afterwards). Seeded by migration and, when a table is empty, after every migrate (a test
database flush empties them)."""

from __future__ import annotations

from typing import Any

ROLES = [
    ("decision_maker", "决策者", "Decision maker"),
    ("influencer", "影响者", "Influencer"),
    ("key_user", "关键用户", "Key user"),
    ("purchaser", "采购", "Purchaser"),
    ("finance", "财务", "Finance"),
    ("technical", "技术", "Technical"),
    ("legal", "法务", "Legal"),
]
# code, Chinese, English, win probability %, won, lost
STAGES = [
    ("qualification", "线索确认", "Qualification", 10, False, False),
    ("needs_analysis", "需求分析", "Needs analysis", 25, False, False),
    ("proposal", "方案报价", "Proposal", 50, False, False),
    ("negotiation", "商务谈判", "Negotiation", 75, False, False),
    ("won", "赢单", "Won", 100, True, False),
    ("lost", "输单", "Lost", 0, False, True),
]


def seed_defaults(role_model: Any, stage_model: Any) -> None:
    """Create the defaults in a table that has none (never re-creates what admins removed)."""
    if not role_model.objects.exists():
        role_model.objects.bulk_create(
            role_model(code=code, name_zh=zh, name_en=en, position=n * 10)
            for n, (code, zh, en) in enumerate(ROLES, start=1)
        )
    if not stage_model.objects.exists():
        stage_model.objects.bulk_create(
            stage_model(
                code=code,
                name_zh=zh,
                name_en=en,
                position=n * 10,
                probability=probability,
                is_won=won,
                is_lost=lost,
            )
            for n, (code, zh, en, probability, won, lost) in enumerate(STAGES, start=1)
        )
