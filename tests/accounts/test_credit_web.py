"""The credit section in the web UI: its page, the htmx evidence form (validation errors shown
in place), the review button, permissions and scope, a pinned query count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import Account, CreditEvidence, CreditProfile
from crm.models import BusinessUnit, User
from crm.roles import DATA_STEWARD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def evidence(account: Account, user: User, n: int) -> None:
    for i in range(n):
        services.add_credit_evidence(
            account=account,
            user=user,
            kind="payment",
            effect="positive" if i % 2 else "neutral",
            source=f"账期记录{i}",
            observed_on=timezone.localdate() - timedelta(days=i),
            value=f"按时付款 {i} 次",
        )


def url(account: Account, tail: str = "") -> str:
    return f"/accounts/{account.pk}/credit/{tail}"


def test_page_shows_profile_evidence_chart_and_form(
    client: Client, make_account: Callable[..., Account], rep_a: User
):
    account = make_account()
    evidence(account, rep_a, 3)
    client.force_login(rep_a)
    html = client.get(url(account)).content.decode()
    assert 'data-testid="credit-rating"' in html and ">BBB<" in html  # 50 + 10 = 60
    assert html.count('data-testid="credit-evidence-row"') == 3
    assert "data-credit-chart" in html and 'id="credit-series-' in html
    assert 'data-testid="credit-evidence-form"' in html
    assert "vendor/echarts/echarts.min.js" in html and "js/credit_chart.js" in html


def test_empty_state_without_evidence(
    client: Client, make_account: Callable[..., Account], rep_a: User
):
    client.force_login(rep_a)
    html = client.get(url(make_account())).content.decode()
    assert 'data-testid="empty-state"' in html and 'data-testid="credit-no-evidence"' in html


def test_htmx_form_shows_errors_in_place_and_saves_valid_evidence(
    client: Client, make_account: Callable[..., Account], rep_a: User
):
    account = make_account()
    client.force_login(rep_a)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    bad = client.post(
        url(account, "evidence/"),
        {"kind": "payment", "effect": "negative", "source": "", "observed_on": tomorrow},
        **HTMX,
    )
    html = bad.content.decode()
    assert bad.status_code == 200 and 'id="credit-section"' in html and "<html" not in html
    assert 'data-testid="credit-source-error"' in html
    assert not CreditEvidence.objects.exists()
    future = client.post(
        url(account, "evidence/"),
        {"kind": "payment", "effect": "negative", "source": "法院", "observed_on": tomorrow},
        **HTMX,
    )
    assert 'data-testid="credit-observed-error"' in future.content.decode()
    assert 'value="法院"' in future.content.decode()  # what was typed comes back

    ok = client.post(
        url(account, "evidence/"),
        {
            "kind": "payment",
            "effect": "negative",
            "source": "法院",
            "observed_on": timezone.localdate().isoformat(),
        },
        **HTMX,
    )
    assert 'data-testid="credit-saved"' in ok.content.decode()
    assert CreditProfile.objects.get(account=account).score == 35


def test_plain_post_redirects_and_review_button_works(
    client: Client, make_account: Callable[..., Account], rep_a: User
):
    account = make_account()
    evidence(account, rep_a, 1)
    CreditProfile.objects.filter(account=account).update(review_due=True)
    client.force_login(rep_a)
    response = client.post(url(account, "review/"))
    assert response.status_code == 302 and response["Location"] == url(account)
    assert not CreditProfile.objects.get(account=account).review_due


def test_a_user_without_the_add_permission_gets_403_and_another_unit_404(
    client: Client,
    make_account: Callable[..., Account],
    rep_a: User,
    rep_b: User,
    unit_a: BusinessUnit,
):
    account = make_account()
    steward = UserFactory(roles=[DATA_STEWARD], units=[unit_a])
    data = {"kind": "payment", "effect": "negative", "source": "x", "observed_on": "2026-01-01"}
    client.force_login(steward)
    assert client.get(url(account)).status_code == 200
    assert 'data-testid="credit-evidence-form"' not in client.get(url(account)).content.decode()
    assert client.post(url(account, "evidence/"), data).status_code == 403
    assert client.post(url(account, "review/")).status_code == 403
    client.force_login(rep_b)
    assert client.get(url(account)).status_code == 404
    assert client.post(url(account, "evidence/"), data).status_code == 404
    assert not CreditEvidence.objects.exists()


def test_section_query_count_does_not_grow_with_evidence_and_pages(
    client: Client, make_account: Callable[..., Account], rep_a: User, django_assert_num_queries
):
    account = make_account()
    evidence(account, rep_a, 3)
    client.force_login(rep_a)
    client.get(url(account))
    # session + user + perms (2) + account + profile + blacklist + the evidence page with
    # the number of all of it (one query) + history
    with django_assert_num_queries(7):
        client.get(url(account))
    evidence(account, rep_a, 30)
    with django_assert_num_queries(7):
        page = client.get(url(account))
    html = page.content.decode()
    assert html.count('data-testid="credit-evidence-row"') == 10
    assert 'data-testid="credit-next-page"' in html
    with django_assert_num_queries(7):
        second = client.get(url(account), {"credit_page": 4}, **HTMX)
    assert second.content.decode().count('data-testid="credit-evidence-row"') == 3
    past = client.get(url(account), {"credit_page": 9}, **HTMX)  # past the end: the last page
    assert past.content.decode().count('data-testid="credit-evidence-row"') == 3
