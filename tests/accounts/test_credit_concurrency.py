"""Evidence recorded on one account by several people at the same instant (threads released
by a barrier, each on its own connection): one history row per evidence, each row's "before"
is the previous row's "after", and the final score is the rule applied to all evidence."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from accounts import services
from accounts.models import CreditEvidence, CreditProfile, CreditScoreChange
from accounts.services.credit_scoring import score_evidence
from crm.models import BusinessUnit, User
from crm.roles import SALES_REP
from tests.accounts.conftest import make_uscc
from tests.factories import BusinessUnitFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
KINDS = [
    ("payment", "negative"),
    ("credit_report", "positive"),
    ("operations", "positive"),
    ("litigation", "negative"),
    ("registration", "positive"),
    ("payment", "positive"),
    ("operations", "negative"),
    ("credit_report", "neutral"),
]


@pytest.mark.parametrize("first_evidence", [True, False], ids=["no-profile-yet", "profile"])
def test_concurrent_evidence_leaves_a_consistent_history(first_evidence: bool) -> None:
    unit: BusinessUnit = BusinessUnitFactory(code="AUTO", name="星辰汽车")
    reps: list[User] = [UserFactory(roles=[SALES_REP], units=[unit]) for _ in KINDS]
    account = services.create_account(
        uscc=make_uscc(9), name="并发公司", user=reps[0], business_unit=unit
    ).account
    today = timezone.localdate()
    if not first_evidence:
        services.complete_credit_review(account=account, user=reps[0])
    barrier = threading.Barrier(len(KINDS))
    errors: list[BaseException] = []

    def work(rep: User, kind: str, effect: str, n: int) -> None:
        try:
            barrier.wait()
            services.add_credit_evidence(
                account=account,
                user=rep,
                kind=kind,
                effect=effect,
                source=f"来源{n}",
                observed_on=today - timedelta(days=n * 100),
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=(rep, kind, effect, n))
        for n, (rep, (kind, effect)) in enumerate(zip(reps, KINDS, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()

    assert errors == []
    assert CreditEvidence.objects.filter(account=account).count() == len(KINDS)
    assert CreditProfile.objects.filter(account=account).count() == 1
    rows = list(
        CreditScoreChange.objects.filter(account=account, evidence__isnull=False).order_by("id")
    )
    assert len(rows) == len(KINDS)
    assert len({r.evidence_id for r in rows}) == len(KINDS)  # one row per evidence
    for previous, row in itertools.pairwise(rows):  # a chain: nothing lost
        assert row.score_before == previous.score_after
    everything = CreditEvidence.objects.filter(account=account).values_list(
        "kind", "effect", "observed_on"
    )
    expected = score_evidence(services.load_rule(), list(everything), today)
    profile = CreditProfile.objects.get(account=account)
    assert (profile.score, profile.rating, profile.credit_limit) == (
        expected.score,
        expected.rating,
        expected.limit,
    )
    assert rows[-1].score_after == expected.score
