"""The account list's phone search is the master's: a fragment inside a contact's national
number (never the +86 country code), for who may reveal, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts import services
from accounts.models import Account
from accounts.selectors.lists import AccountFilters, account_page
from crm.models import User
from crm.services import IdentityInput

pytestmark = pytest.mark.django_db


def _names(user: User, q: str) -> list[str]:
    page = account_page(user=user, filters=AccountFilters(query=q))
    return [a.customer.display_name for a in page.rows]


def test_a_contact_phone_fragment_matches_the_national_number(
    make_account: Callable[..., Account], rep_a: User, manager_a: User
):
    plain = make_account("东方物流集团")
    inside = make_account("海川制造股份")
    services.add_contact(
        account=plain, identities=[IdentityInput("mobile", "13800138000")], name="李雷", user=rep_a
    )
    services.add_contact(
        account=inside, identities=[IdentityInput("mobile", "13986131234")], name="韩梅", user=rep_a
    )
    # Before: "8613" matched both (+8613800138000 holds it, in its country code).
    assert _names(manager_a, "8613") == ["海川制造股份"]
    assert _names(manager_a, "+86 138") == ["东方物流集团"]
    assert _names(manager_a, "+86 138 0013 8000") == ["东方物流集团"]


def test_the_fragment_search_costs_the_same_queries_however_many_contacts_match(
    make_account: Callable[..., Account],
    rep_a: User,
    manager_a: User,
    django_assert_num_queries,
):
    account = make_account("星辰科技有限公司")

    def add(n: int) -> None:
        services.add_contact(
            account=make_account(f"公司{n:02d}") if n else account,
            identities=[IdentityInput("mobile", f"1390013{n:04d}")],
            name=f"人{n}",
            user=rep_a,
        )

    add(0)
    account_page(user=manager_a, filters=AccountFilters(query="39001"))  # permissions cached
    # the rows with their units and blacklist marks (3 -> 1: those were a query each)
    with django_assert_num_queries(1) as one:
        assert len(account_page(user=manager_a, filters=AccountFilters(query="39001")).rows) == 1
    for n in range(1, 30):
        add(n)
    with django_assert_num_queries(len(one.captured_queries)):
        page = account_page(user=manager_a, filters=AccountFilters(query="39001"))
    assert len(page.rows) == 25 and page.has_next
