"""The credit scoring rule: a pure function of an account's evidence, the rule's numbers and
the date the score is computed on. ``accounts/CREDIT.md`` says the same in prose.

    weight(e)  = 1    if age(e) <= full_weight_days          (age = as_of - observed_on, in
               = 1/2  if age(e) <= half_weight_days           days; evidence dated in the
               = 0    otherwise                                future counts as age 0)
    raw        = base_score + Σ over all evidence e: points(kind(e), effect(e)) × weight(e)
    score      = raw rounded half up to an integer, clamped to 0..100
    rating     = the band with the highest lowest-score <= score (the lowest band otherwise)
    limit      = base_limit × limit_factor(rating), to the cent, in the rule's currency

Every piece of evidence counts (two reports both count); nothing but the evidence, the rule
and the date enters the score, so anyone can recompute it by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from accounts.models import CreditScoringRule

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Band:
    rating: str
    min_score: int
    limit_factor: Decimal


@dataclass(frozen=True)
class ScoringRule:
    """The rule's numbers, read once (three queries) and used for many accounts."""

    base_score: int
    base_limit: Decimal
    currency: str
    full_weight_days: int
    half_weight_days: int
    review_interval_days: int
    points: dict[tuple[str, str], int] = field(default_factory=dict)
    bands: tuple[Band, ...] = ()  # highest lowest-score first

    @classmethod
    def from_model(cls, rule: CreditScoringRule) -> ScoringRule:
        return cls(
            base_score=rule.base_score,
            base_limit=rule.base_limit,
            currency=rule.currency,
            full_weight_days=rule.full_weight_days,
            half_weight_days=rule.half_weight_days,
            review_interval_days=rule.review_interval_days,
            points={(w.kind, w.effect): w.points for w in rule.weights.all()},
            bands=tuple(
                Band(b.rating, b.min_score, b.limit_factor)
                for b in sorted(rule.bands.all(), key=lambda b: -b.min_score)
            ),
        )


@dataclass(frozen=True)
class Outcome:
    score: int
    rating: str
    limit: Decimal
    currency: str


def evidence_weight(rule: ScoringRule, observed_on: date, as_of: date) -> Decimal:
    """1, 1/2 or 0 by the evidence's age on ``as_of``."""
    age = max(0, (as_of - observed_on).days)
    if age <= rule.full_weight_days:
        return Decimal(1)
    if age <= rule.half_weight_days:
        return Decimal("0.5")
    return Decimal(0)


def rating_for(rule: ScoringRule, score: int) -> Band:
    for band in rule.bands:
        if score >= band.min_score:
            return band
    return rule.bands[-1]


def score_evidence(
    rule: ScoringRule, evidence: Iterable[tuple[str, str, date]], as_of: date
) -> Outcome:
    """The outcome of the rule for evidence given as ``(kind, effect, observed_on)``."""
    raw = Decimal(rule.base_score)
    for kind, effect, observed_on in evidence:
        raw += rule.points.get((kind, effect), 0) * evidence_weight(rule, observed_on, as_of)
    score = int(min(Decimal(100), max(Decimal(0), raw)).quantize(Decimal(1), ROUND_HALF_UP))
    band = rating_for(rule, score)
    limit = (rule.base_limit * band.limit_factor).quantize(CENT, ROUND_HALF_UP)
    return Outcome(score, band.rating, limit, rule.currency)
