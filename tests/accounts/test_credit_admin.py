"""The credit admin: evidence goes through the service (the profile is recomputed, a refused
date stores nothing), profiles are read-only with their history, the rule's weights are
edited in place and applied to every profile by a confirmed background recomputation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import (
    Account,
    ChangeReason,
    CreditBand,
    CreditEvidence,
    CreditProfile,
    CreditScoreChange,
    CreditScoringRule,
    CreditWeight,
)
from crm.models import Job, User

pytestmark = pytest.mark.django_db
ADMIN = "/admin/accounts"


@pytest.fixture
def boss(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    return client


def evidence_form(account: Account, **changes: Any) -> dict[str, Any]:
    return {
        "account": account.pk,
        "kind": "payment",
        "effect": "negative",
        "observed_on": timezone.localdate().isoformat(),
        "source": "财务系统",
        "value": "逾期 2 笔",
        "note": "",
        **changes,
    }


def test_evidence_added_in_the_admin_recomputes_and_a_refusal_stores_nothing(
    boss: Client, make_account: Callable[..., Account]
):
    account = make_account()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    refused = boss.post(
        f"{ADMIN}/creditevidence/add/", evidence_form(account, observed_on=tomorrow)
    )
    assert refused.status_code == 302 and not CreditEvidence.objects.exists()

    added = boss.post(f"{ADMIN}/creditevidence/add/", evidence_form(account))
    assert added.status_code == 302, added.content.decode()[:2000]
    assert CreditProfile.objects.get(account=account).score == 35
    assert CreditScoreChange.objects.get(account=account).reason == ChangeReason.EVIDENCE
    listing = boss.get(f"{ADMIN}/creditevidence/", {"q": "财务"})
    assert listing.status_code == 200 and "财务系统" in listing.content.decode()
    assert "财务系统" not in boss.get(f"{ADMIN}/creditevidence/", {"q": "法院"}).content.decode()
    assert boss.get(f"{ADMIN}/creditevidence/?kind__exact=payment").status_code == 200


def test_profile_is_read_only_with_its_history(
    boss: Client, make_account: Callable[..., Account], admin_user: User
):
    account = make_account()
    services.add_credit_evidence(
        account=account,
        user=admin_user,
        kind="registration",
        effect="positive",
        source="工商",
        observed_on=timezone.localdate(),
    )
    profile = CreditProfile.objects.get(account=account)
    page = boss.get(f"{ADMIN}/creditprofile/{profile.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="credit-history"' in html
    assert "50 → 55" in html
    assert 'name="score"' not in html  # computed: not an input
    assert boss.get(f"{ADMIN}/creditprofile/add/").status_code == 403


def rule_form(rule: CreditScoringRule, **points: int) -> dict[str, Any]:
    weights = list(rule.weights.order_by("id"))
    bands = list(rule.bands.order_by("id"))
    data: dict[str, Any] = {
        "base_score": rule.base_score,
        "base_limit": str(rule.base_limit),
        "currency": rule.currency,
        "full_weight_days": rule.full_weight_days,
        "half_weight_days": rule.half_weight_days,
        "review_interval_days": rule.review_interval_days,
        "weights-TOTAL_FORMS": len(weights),
        "weights-INITIAL_FORMS": len(weights),
        "bands-TOTAL_FORMS": len(bands),
        "bands-INITIAL_FORMS": len(bands),
    }
    for n, w in enumerate(weights):
        key = f"{w.kind}_{w.effect}"
        data |= {
            f"weights-{n}-id": w.pk,
            f"weights-{n}-rule": rule.pk,
            f"weights-{n}-kind": w.kind,
            f"weights-{n}-effect": w.effect,
            f"weights-{n}-points": points.get(key, w.points),
        }
    for n, b in enumerate(bands):
        data |= {
            f"bands-{n}-id": b.pk,
            f"bands-{n}-rule": rule.pk,
            f"bands-{n}-rating": b.rating,
            f"bands-{n}-min_score": b.min_score,
            f"bands-{n}-limit_factor": str(b.limit_factor),
        }
    return data


def test_weights_edited_in_the_admin_apply_after_the_confirmed_recompute(
    boss: Client,
    make_account: Callable[..., Account],
    admin_user: User,
    django_capture_on_commit_callbacks,
):
    account = make_account()
    services.add_credit_evidence(
        account=account,
        user=admin_user,
        kind="payment",
        effect="negative",
        source="财务",
        observed_on=timezone.localdate(),
    )
    rule = CreditScoringRule.objects.get()
    saved = boss.post(
        f"{ADMIN}/creditscoringrule/{rule.pk}/change/", rule_form(rule, payment_negative=-30)
    )
    assert saved.status_code == 302, saved.content.decode()[-3000:]
    assert CreditWeight.objects.get(kind="payment", effect="negative").points == -30
    assert CreditProfile.objects.get(account=account).score == 35  # not applied yet

    action = {"action": "recompute_all", "_selected_action": [rule.pk]}
    confirm = boss.post(f"{ADMIN}/creditscoringrule/", action)
    assert 'data-testid="confirm-question"' in confirm.content.decode()
    assert not Job.objects.filter(kind="accounts.recompute_credit").exists()
    with django_capture_on_commit_callbacks(execute=True):
        boss.post(f"{ADMIN}/creditscoringrule/", {**action, "confirmed": "yes"})

    job = Job.objects.get(kind="accounts.recompute_credit")
    assert job.status == "succeeded" and job.result == {"changed": 1}
    assert CreditProfile.objects.get(account=account).score == 20  # 50 − 30


def test_a_rule_without_a_band_at_zero_is_refused(boss: Client):
    rule = CreditScoringRule.objects.get()
    data = rule_form(rule)
    low = CreditBand.objects.get(min_score=0)
    index = next(k for k, v in data.items() if k.endswith("-id") and v == low.pk).split("-")[1]
    data[f"bands-{index}-min_score"] = 5
    response = boss.post(f"{ADMIN}/creditscoringrule/{rule.pk}/change/", data)
    assert response.status_code == 200
    assert CreditBand.objects.filter(min_score=0).exists()
