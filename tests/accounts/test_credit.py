"""Credit scoring by the documented rule (accounts/CREDIT.md), its history, weights edited by
admins, the effective limit under the blacklist, the daily review flag and the owners' card,
and the merge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from accounts import selectors, services
from accounts.models import (
    Account,
    ChangeReason,
    CreditEvidence,
    CreditProfile,
    CreditScoreChange,
    CreditWeight,
)
from accounts.services.credit_scoring import ScoringRule, score_evidence
from accounts.web.credit import credit_reviews_work
from crm import services as crm_services
from crm.errors import DomainError
from crm.models import BusinessUnit, User
from crm.roles import DATA_STEWARD, SALES_MANAGER, SALES_REP
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 12, 7)


@pytest.fixture(autouse=True)
def frozen_day():
    with time_machine.travel("2026-12-07 10:00 +08:00", tick=False):
        yield


def add(account: Account, user: User, kind: str, effect: str, days_ago: int) -> CreditEvidence:
    return services.add_credit_evidence(
        account=account,
        user=user,
        kind=kind,
        effect=effect,
        source="测试来源",
        observed_on=TODAY - timedelta(days=days_ago),
    )


def test_score_follows_the_documented_rule_with_one_history_row_per_evidence(
    make_account: Callable[..., Account], rep_a: User
):
    account = make_account()
    # Hand computation with the seeded rule (base 50; full weight ≤ 365 days, half ≤ 730):
    steps = [
        ("registration", "positive", 10, 55, "BB", "300000.00"),  # 50 + 5
        ("credit_report", "positive", 400, 63, "BBB", "600000.00"),  # + 15 × ½ = 62.5 → 63
        ("payment", "negative", 30, 48, "B", "100000.00"),  # − 15 = 47.5 → 48
        ("litigation", "negative", 800, 48, "B", "100000.00"),  # older than 730 days: 0
    ]
    for kind, effect, days_ago, *_ in steps:
        add(account, rep_a, kind, effect, days_ago)

    profile = CreditProfile.objects.get(account=account)
    assert (profile.score, profile.rating, profile.credit_limit) == (48, "B", Decimal("100000"))
    assert profile.currency == "CNY"
    assert profile.next_review_on == TODAY + timedelta(days=180)
    history = list(CreditScoreChange.objects.filter(account=account).order_by("id"))
    assert len(history) == 4
    before = (50, "BB", Decimal("300000.00"))  # the profile before any evidence: the base
    for change, (kind, _effect, _days, score, rating, limit) in zip(history, steps, strict=True):
        assert change.reason == ChangeReason.EVIDENCE
        assert change.evidence.kind == kind and change.actor == rep_a
        assert (change.score_before, change.rating_before, change.limit_before) == before
        assert (change.score_after, change.rating_after, change.limit_after) == (
            score,
            rating,
            Decimal(limit),
        )
        before = (score, rating, Decimal(limit))


def test_score_is_clamped_and_rounded_half_up():
    rule = ScoringRule.from_model(services.credit.CreditScoringRule.objects.get())
    many_bad = [("litigation", "negative", TODAY)] * 3
    assert score_evidence(rule, many_bad, TODAY).score == 0
    assert score_evidence(rule, many_bad, TODAY).rating == "C"
    assert score_evidence(rule, many_bad, TODAY).limit == Decimal("0.00")
    many_good = [("credit_report", "positive", TODAY)] * 5
    outcome = score_evidence(rule, many_good, TODAY)
    assert (outcome.score, outcome.rating, outcome.limit) == (100, "AAA", Decimal("2000000.00"))
    half = [("operations", "positive", TODAY - timedelta(days=366))]  # 50 + 10 × ½ = 55
    assert score_evidence(rule, half, TODAY).score == 55
    odd = [("credit_report", "positive", TODAY - timedelta(days=365 + 1))]  # 57.5 → 58
    assert score_evidence(rule, odd, TODAY).score == 58


def test_edited_weights_change_the_score_after_recomputing_all(
    make_account: Callable[..., Account], rep_a: User
):
    account, untouched = make_account("甲公司"), make_account("乙公司")
    add(account, rep_a, "payment", "negative", 30)  # 50 − 15 = 35 → CCC
    add(untouched, rep_a, "registration", "positive", 30)  # 55, unaffected by the edit
    CreditWeight.objects.filter(kind="payment", effect="negative").update(points=-5)

    changed = services.recompute_all_credit(actor=rep_a)

    assert changed == 1
    profile = CreditProfile.objects.get(account=account)
    assert (profile.score, profile.rating, profile.credit_limit) == (45, "B", Decimal("100000"))
    last = CreditScoreChange.objects.filter(account=account).order_by("-id").first()
    assert last.reason == ChangeReason.RULE and last.evidence is None
    assert (last.score_before, last.score_after) == (35, 45)
    assert CreditScoreChange.objects.filter(account=untouched).count() == 1  # no noise row
    assert services.recompute_all_credit() == 0  # nothing changes the second time


def test_evidence_is_validated_and_needs_the_permission(
    make_account: Callable[..., Account], rep_a: User, unit_a: BusinessUnit
):
    account = make_account()
    steward = UserFactory(roles=[DATA_STEWARD], units=[unit_a])
    with pytest.raises(DomainError) as refused:
        add(account, steward, "payment", "negative", 1)
    assert refused.value.code == "not_allowed"
    with pytest.raises(DomainError) as future:
        add(account, rep_a, "payment", "negative", -1)
    assert future.value.field == "observed_on"
    with pytest.raises(DomainError) as kind:
        add(account, rep_a, "gossip", "negative", 1)
    assert kind.value.field == "kind"
    assert not CreditEvidence.objects.exists() and not CreditScoreChange.objects.exists()


@pytest.fixture
def blacklisting(unit_a: BusinessUnit):
    proposer = UserFactory(roles=[SALES_MANAGER], units=[unit_a])
    approver = UserFactory(roles=[DATA_STEWARD], units=[unit_a])

    def run(account: Account, until: str):
        entry = crm_services.propose_blacklisting(
            customer=account.customer, user=proposer, reason="fraud", evidence="伪造合同"
        )
        if until == "rejected":
            crm_services.reject_blacklisting(entry=entry, user=approver, comment="证据不足")
            return
        if until == "proposed":
            return
        crm_services.approve_blacklisting(entry=entry, user=approver)
        if until in ("lifting", "lifted"):
            crm_services.propose_lifting(entry=entry, user=proposer, reason="已还款")
        if until == "lifted":
            crm_services.approve_lifting(entry=entry, user=approver)

    return run


@pytest.mark.parametrize(
    ("state", "limit"),
    [
        ("active", "0"),
        ("lifting", "0"),  # still binding until the lifting is approved
        ("proposed", "1000000"),
        ("rejected", "1000000"),
        ("lifted", "1000000"),
    ],
)
def test_effective_limit_is_zero_only_while_blacklisted(
    make_account: Callable[..., Account], rep_a: User, blacklisting, state: str, limit: str
):
    account = make_account()
    add(account, rep_a, "credit_report", "positive", 10)
    add(account, rep_a, "operations", "positive", 10)  # 75 → A → 1,000,000
    blacklisting(account, state)
    assert selectors.effective_credit_limit(account) == Decimal(limit)
    assert CreditProfile.objects.get(account=account).credit_limit == Decimal("1000000")


def test_no_profile_means_no_credit(make_account: Callable[..., Account]):
    assert selectors.effective_credit_limit(make_account()) == Decimal("0")


def test_due_reviews_appear_on_the_owners_card_only(
    make_account: Callable[..., Account], rep_a: User, unit_a: BusinessUnit
):
    other_rep = UserFactory(roles=[SALES_REP], units=[unit_a])
    mine = make_account("我的公司", owner=rep_a)
    theirs = make_account("别人的公司", owner=other_rep)
    later = make_account("以后再审", owner=rep_a)
    for account in (mine, theirs, later):
        add(account, rep_a, "registration", "positive", 10)
    CreditProfile.objects.filter(account__in=[mine, theirs]).update(
        next_review_on=TODAY - timedelta(days=1)
    )
    assert credit_reviews_work(rep_a).items == []  # nothing until the task ran

    from accounts.tasks import flag_due_credit_reviews

    assert flag_due_credit_reviews() == 2
    assert flag_due_credit_reviews() == 0  # safe to run twice

    work = credit_reviews_work(rep_a)
    assert [i.title for i in work.items] == ["我的公司"] and work.total == 1
    assert work.items[0].url == f"/accounts/{mine.pk}/credit/"
    assert [i.title for i in credit_reviews_work(other_rep).items] == ["别人的公司"]

    services.complete_credit_review(account=mine, user=rep_a)  # the review moves the date
    profile = CreditProfile.objects.get(account=mine)
    assert not profile.review_due and profile.next_review_on == TODAY + timedelta(days=180)
    assert profile.reviewed_at is not None
    assert credit_reviews_work(rep_a).items == []
    assert CreditScoreChange.objects.filter(account=mine, reason=ChangeReason.REVIEW).count() == 1

    add(theirs, other_rep, "payment", "positive", 0)  # new evidence also completes it
    assert not CreditProfile.objects.get(account=theirs).review_due


def test_merge_moves_evidence_and_history_and_recomputes_the_survivor(
    make_account: Callable[..., Account], rep_a: User, unit_b: BusinessUnit
):
    keep, lose = make_account("星辰科技"), make_account("星辰科技有限公司")
    add(keep, rep_a, "registration", "positive", 10)  # keep: 55
    add(lose, rep_a, "credit_report", "positive", 10)  # lose: 65
    add(lose, rep_a, "operations", "positive", 10)  # lose: 75

    crm_services.merge_customers(
        survivor=keep.customer, loser=lose.customer, actor=None, reason="同一家"
    )

    assert not Account.objects.filter(pk=lose.pk).exists()
    assert CreditEvidence.objects.filter(account=keep).count() == 3
    assert CreditProfile.objects.count() == 1
    profile = CreditProfile.objects.get(account=keep)
    assert (profile.score, profile.rating) == (80, "AA")  # 50 + 5 + 15 + 10
    history = CreditScoreChange.objects.filter(account=keep)
    assert history.count() == 4  # 1 + 2 moved + the merge's recomputation
    merge_row = history.order_by("-id").first()
    assert merge_row.reason == ChangeReason.MERGE
    assert (merge_row.score_before, merge_row.score_after) == (55, 80)
