"""The credit tables in the database: raw inserts naming only the required columns get their
defaults (the bench generator and bulk paths write that way), the CHECKs refuse a score
outside 0..100 and a negative limit, and there is one scoring rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import Account, CreditScoringRule

pytestmark = pytest.mark.django_db


def insert(sql: str, params: list) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def test_raw_inserts_get_the_database_defaults(make_account: Callable[..., Account]):
    account = make_account()
    assert insert(
        "INSERT INTO accounts_creditevidence (account_id, kind, source, observed_on, effect) "
        "VALUES (%s, 'payment', 'ERP', '2026-01-01', 'negative') "
        "RETURNING value, note, created_at IS NOT NULL",
        [account.pk],
    ) == ("", "", True)
    assert insert(
        "INSERT INTO accounts_creditprofile (account_id, score, rating, credit_limit, "
        "next_review_on) VALUES (%s, 60, 'BBB', 600000, '2027-01-01') "
        "RETURNING currency, review_due, computed_at IS NOT NULL",
        [account.pk],
    ) == ("CNY", False, True)
    assert insert(
        "INSERT INTO accounts_creditscorechange (account_id, reason, score_after, "
        "rating_after, limit_after) VALUES (%s, 'rule', 60, 'BBB', 600000) "
        "RETURNING rating_before, currency, at IS NOT NULL",
        [account.pk],
    ) == ("", "CNY", True)


@pytest.mark.parametrize(
    ("score", "limit"), [(101, 0), (-1, 0), (50, -1)], ids=["above", "below", "limit"]
)
def test_checks_refuse_a_score_outside_the_range_and_a_negative_limit(
    make_account: Callable[..., Account], score: int, limit: int
):
    account = make_account()
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(
            "INSERT INTO accounts_creditprofile (account_id, score, rating, credit_limit, "
            "next_review_on) VALUES (%s, %s, 'C', %s, '2027-01-01') RETURNING id",
            [account.pk, score, limit],
        )


def test_there_is_one_scoring_rule():
    rule = CreditScoringRule.objects.get()
    assert rule.weights.count() == 15 and rule.bands.count() == 9
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditScoringRule.objects.create(
            base_score=50,
            base_limit=0,
            full_weight_days=1,
            half_weight_days=2,
            review_interval_days=3,
        )
