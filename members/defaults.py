"""The programme's starting configuration, created once (admins change it afterwards)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

LEVELS = [
    # (code, name, rank, threshold points over 12 months, multiplier, benefits)
    ("basic", "普卡会员", 0, "0", "1.00", "积分累计与兑换"),
    ("silver", "银卡会员", 1, "2000", "1.20", "积分 1.2 倍；生日礼遇"),
    ("gold", "金卡会员", 2, "8000", "1.50", "积分 1.5 倍；专属客服；免费停车"),
    ("diamond", "钻石会员", 3, "30000", "2.00", "积分 2 倍；贵宾休息室；优先预约服务"),
]


def seed_defaults(level_model: Any, settings_model: Any) -> None:
    settings_model.objects.get_or_create(pk=1)
    if level_model.objects.exists():
        return
    for code, name, rank, threshold, multiplier, benefits in LEVELS:
        level_model.objects.create(
            code=code,
            name=name,
            rank=rank,
            threshold=Decimal(threshold),
            multiplier=Decimal(multiplier),
            benefits=benefits,
        )
