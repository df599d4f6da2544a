"""The customer 360 view shows the account panel (an organization) or "contact at" (a
person) in a constant number of queries; the roles hold the permissions the issue names."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import selectors, services
from accounts.models import Account
from crm.models import BusinessUnit, User
from crm.roles import MEMBER_SERVICE
from tests.accounts.conftest import phone
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _grow(account: Account, user: User, unit: BusinessUnit, start: int, n: int, stages) -> None:
    for i in range(start, start + n):
        services.add_contact(account=account, identities=phone(i), name=f"人{i}", user=user)
        services.create_opportunity(
            account=account,
            name=f"机会{i}",
            owner=user,
            business_unit=unit,
            user=user,
            amount="1000",
            stage=stages["proposal"],
        )


def test_organization_panel_is_constant_and_right(
    make_account: Callable[..., Account], rep_a: User, unit_a: BusinessUnit, stages, client
):
    account = make_account(fields={"industry": "C", "status": "active"})
    _grow(account, rep_a, unit_a, 1, 2, stages)
    selectors.account_panel_context(rep_a, account.customer)  # the user's roles and units
    with CaptureQueriesContext(connection) as few:
        selectors.account_panel_context(rep_a, account.customer)
    _grow(account, rep_a, unit_a, 10, 8, stages)
    with CaptureQueriesContext(connection) as many:
        context = selectors.account_panel_context(rep_a, account.customer)
    assert len(few.captured_queries) == len(many.captured_queries) == 2
    assert context["account"].contact_count == 10 and context["open_count"] == 10
    assert [(c, str(w)) for c, w in context["weighted"]] == [("CNY", "5000.00")]  # 10 × 500
    client.force_login(rep_a)
    page = client.get(reverse("customer-detail", args=[account.customer_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="panel-accounts"' in html and "制造业" in html and "¥5,000.00" in html


def test_person_panel_lists_where_they_are_a_contact(
    make_account: Callable[..., Account], rep_a: User, roles, client
):
    first, second = make_account("甲公司"), make_account("乙公司")
    contact = services.add_contact(
        account=first, identities=phone(1), name="李娜", user=rep_a, roles=[roles["finance"]]
    )
    services.add_contact(account=second, identities=phone(1), name="李娜", user=rep_a)
    selectors.account_panel_context(rep_a, contact.person)  # the user's roles and units
    with CaptureQueriesContext(connection) as queries:
        context = selectors.account_panel_context(rep_a, contact.person)
    assert len(queries.captured_queries) == 2  # the contacts with their accounts; their roles
    assert {c.account_id for c in context["positions"]} == {first.pk, second.pk}
    client.force_login(rep_a)
    html = client.get(reverse("customer-detail", args=[contact.person_id])).content.decode()
    assert "甲公司" in html and "乙公司" in html and "财务" in html


def test_role_permissions(rep_a: User, manager_a: User, unit_a: BusinessUnit):
    for perm in ("view_account", "add_account", "change_account", "add_contact", "add_opportunity"):
        assert rep_a.has_perm(f"accounts.{perm}") and manager_a.has_perm(f"accounts.{perm}")
    assert not rep_a.has_perm("accounts.assign_account_owner")
    assert manager_a.has_perm("accounts.assign_account_owner")
    assert not rep_a.has_perm("accounts.change_opportunitystage")
    desk = UserFactory(roles=[MEMBER_SERVICE], units=[unit_a])
    assert desk.has_perm("accounts.view_account") and not desk.has_perm("accounts.add_account")


def test_only_managers_assign_owners(
    make_account: Callable[..., Account], rep_a: User, manager_a: User
):
    account = make_account()
    with pytest.raises(services.accounts.NotAllowed):
        services.assign_owner(account=account, owner=rep_a, user=rep_a)
    assert services.assign_owner(account=account, owner=rep_a, user=manager_a).owner == rep_a


def test_only_managers_reassign_opportunities(
    make_account: Callable[..., Account], rep_a: User, manager_a: User, unit_a, stages
):
    opp = services.create_opportunity(
        account=make_account(), name="机会", owner=rep_a, business_unit=unit_a, user=rep_a
    )
    with pytest.raises(services.accounts.NotAllowed):
        services.reassign_opportunity(opportunity=opp, owner=manager_a, user=rep_a)
    moved = services.reassign_opportunity(opportunity=opp, owner=manager_a, user=manager_a)
    assert moved.owner == manager_a
