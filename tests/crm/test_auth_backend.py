"""The permission backend: the stock answers, in one query per request."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from crm.auth_backends import CrmModelBackend
from crm.models import User
from crm.roles import ADMIN, SALES_REP
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def test_same_permissions_as_the_stock_backend_in_one_query(
    unit_a: Any, django_assert_num_queries: Any
) -> None:
    user = UserFactory(roles=[SALES_REP, ADMIN], units=[unit_a])
    user.user_permissions.add(Permission.objects.get(codename="view_job"))
    expected = ModelBackend().get_all_permissions(_fresh(user))
    assert "crm.view_job" in expected and "crm.view_customer" in expected

    fresh = _fresh(user)
    with django_assert_num_queries(1):
        got = CrmModelBackend().get_all_permissions(fresh)
        # the role names came with it
        assert fresh.role_names() == {SALES_REP, ADMIN}
        assert fresh.has_perm("crm.view_customer") and fresh.has_perm("crm.view_job")
        assert not fresh.has_perm("crm.no_such_permission")
    assert got == expected
    assert CrmModelBackend().get_user_permissions(fresh) == {"crm.view_job"}


def test_user_without_roles_or_permissions(unit_a: Any, django_assert_num_queries: Any) -> None:
    fresh = _fresh(UserFactory(units=[unit_a]))
    with django_assert_num_queries(1):
        assert not fresh.has_perm("crm.view_customer")
        assert fresh.role_names() == frozenset()


def test_inactive_and_superuser_as_django_says(unit_a: Any) -> None:
    inactive = UserFactory(roles=[ADMIN], units=[unit_a], is_active=False)
    assert CrmModelBackend().get_all_permissions(_fresh(inactive)) == set()
    boss = _fresh(UserFactory(units=[unit_a], is_superuser=True))
    assert CrmModelBackend().get_all_permissions(boss) == ModelBackend().get_all_permissions(
        _fresh(boss)
    )


def test_role_names_first_reads_the_permissions_too(
    unit_a: Any, django_assert_num_queries: Any
) -> None:
    fresh = _fresh(UserFactory(roles=[SALES_REP], units=[unit_a]))
    with django_assert_num_queries(1):
        assert fresh.role_names() == {SALES_REP}
        assert fresh.has_perm("crm.view_customer")
    boss = _fresh(UserFactory(roles=[SALES_REP], units=[unit_a], is_superuser=True))
    assert boss.role_names() == {SALES_REP} and boss.has_perm("crm.delete_customer")
