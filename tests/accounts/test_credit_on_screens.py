"""The credit profile where reps look: the list's rating column and filter, the account
page's header (rating and the effective limit) and its credit section."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.urls import reverse

from accounts import services
from accounts.models import Account
from accounts.selectors.lists import AccountFilters, account_page
from crm import services as crm_services
from crm.models import User
from tests.factories import UserFactory


def _rate(account: Account, user: User, effect: str) -> None:
    services.add_credit_evidence(
        account=account,
        user=user,
        kind="payment",
        effect=effect,
        source="财务系统",
        observed_on=date.today(),
    )


def _header(html: str) -> str:
    """The header's credit part: from its span to the units' span."""
    return html.split('data-testid="account-credit"', 1)[1].split('data-testid="account-units"')[0]


def _names(user: User, **params: str) -> list[str]:
    page = account_page(user=user, filters=AccountFilters.from_params(params))
    return sorted(a.customer.display_name for a in page.rows)


def test_rating_filter_and_column(make_account: Callable[..., Account], rep_a: User, client):
    good = make_account("星辰科技有限公司")
    bad = make_account("东方物流集团")
    make_account("海川制造股份")  # no evidence: not rated
    _rate(good, rep_a, "positive")
    _rate(bad, rep_a, "negative")
    good_rating = good.credit_profile.rating
    bad.refresh_from_db()
    bad_rating = bad.credit_profile.rating
    assert good_rating != bad_rating
    assert _names(rep_a, rating=good_rating) == ["星辰科技有限公司"]
    assert _names(rep_a, rating=bad_rating) == ["东方物流集团"]
    assert _names(rep_a, rating="none") == ["海川制造股份"]
    assert len(_names(rep_a, rating="ZZ")) == 3  # not a rating: dropped
    client.force_login(rep_a)
    html = client.get(reverse("accounts:list"), {"rating": good_rating}).content.decode()
    assert html.count('data-testid="account-row"') == 1
    assert f"{good_rating}</span>" in html and 'name="rating"' in html


def test_account_page_shows_rating_limit_and_section(
    make_account: Callable[..., Account], rep_a: User, client
):
    account = make_account("星辰科技有限公司")
    _rate(account, rep_a, "positive")
    profile = account.credit_profile
    client.force_login(rep_a)
    html = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert profile.rating in _header(html) and "¥0.00" not in _header(html)
    assert 'data-testid="credit-section"' in html and 'data-testid="credit-chart"' in html
    # blacklisted: the header's limit counts as 0 and the section says why
    entry = crm_services.propose_blacklisting(
        customer=account.customer, user=UserFactory(is_superuser=True), reason="fraud", evidence="x"
    )
    crm_services.approve_blacklisting(entry=entry, user=UserFactory(is_superuser=True))
    html = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert "¥0.00" in _header(html)
    assert 'data-testid="credit-blacklisted"' in html


def test_who_may_not_read_credit_sees_no_credit_on_the_page(
    make_account: Callable[..., Account], unit_a, client
):
    from crm.roles import MEMBER_SERVICE

    account = make_account("星辰科技有限公司")
    desk = UserFactory(roles=[MEMBER_SERVICE], units=[unit_a])
    client.force_login(desk)
    response = client.get(reverse("accounts:detail", args=[account.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="credit-section"' not in html and "account-credit" not in html
