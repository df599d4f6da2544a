"""Roles are groups created by a migration, with the permissions their patterns name."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from crm.roles import ADMIN, AUDITOR, ROLES, SALES_REP, expand

pytestmark = pytest.mark.django_db


def test_every_role_exists_after_migrate():
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


def test_admin_has_every_permission_and_the_auditor_only_view():
    assert Group.objects.get(name=ADMIN).permissions.count() == Permission.objects.count()
    auditor_codenames = Group.objects.get(name=AUDITOR).permissions.values_list(
        "codename", flat=True
    )
    assert auditor_codenames and all(c.startswith("view_") for c in auditor_codenames)


def test_sales_rep_cannot_change_configuration():
    perms = set(Group.objects.get(name=SALES_REP).permissions.values_list("codename", flat=True))
    assert "view_businessunit" in perms
    assert not perms & {"add_businessunit", "change_businessunit", "add_apikey", "change_user"}


def test_patterns_expand_by_app_and_codename():
    rows = [(1, "crm", "view_job"), (2, "crm", "add_job"), (3, "leads", "view_lead")]
    assert expand(["*.view_*"], rows) == {1, 3}
    assert expand(["crm.*"], rows) == {1, 2}
    assert expand(["leads.view_lead"], rows) == {3}
