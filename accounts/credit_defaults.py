"""The scoring rule a new installation starts with (accounts/CREDIT.md explains it; admins
edit it afterwards). Seeded by migration and, when the rule's table is empty, after every
migrate (a test database flush empties it). Never re-creates what admins changed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

BASE_SCORE = 50
BASE_LIMIT = Decimal("1000000.00")
CURRENCY = "CNY"
FULL_WEIGHT_DAYS = 365  # evidence observed within a year counts in full
HALF_WEIGHT_DAYS = 730  # then half for a second year, then not at all
REVIEW_INTERVAL_DAYS = 180

# kind -> (positive, neutral, negative) points
WEIGHTS = {
    "registration": (5, 0, -10),
    "credit_report": (15, 0, -20),
    "operations": (10, 0, -10),
    "litigation": (5, 0, -25),
    "payment": (10, 0, -15),
}
# rating, lowest score of the band, credit limit as a multiple of the base amount
BANDS = [
    ("AAA", 90, Decimal("2.00")),
    ("AA", 80, Decimal("1.50")),
    ("A", 70, Decimal("1.00")),
    ("BBB", 60, Decimal("0.60")),
    ("BB", 50, Decimal("0.30")),
    ("B", 40, Decimal("0.10")),
    ("CCC", 30, Decimal("0.00")),
    ("CC", 20, Decimal("0.00")),
    ("C", 0, Decimal("0.00")),
]


def seed_credit_rule(rule_model: Any, weight_model: Any, band_model: Any) -> None:
    """Create the default rule, its weights and bands when there is no rule."""
    if rule_model.objects.exists():
        return
    rule = rule_model.objects.create(
        base_score=BASE_SCORE,
        base_limit=BASE_LIMIT,
        currency=CURRENCY,
        full_weight_days=FULL_WEIGHT_DAYS,
        half_weight_days=HALF_WEIGHT_DAYS,
        review_interval_days=REVIEW_INTERVAL_DAYS,
    )
    weight_model.objects.bulk_create(
        weight_model(rule=rule, kind=kind, effect=effect, points=points)
        for kind, values in WEIGHTS.items()
        for effect, points in zip(("positive", "neutral", "negative"), values, strict=True)
    )
    band_model.objects.bulk_create(
        band_model(rule=rule, rating=rating, min_score=low, limit_factor=factor)
        for rating, low, factor in BANDS
    )
