"""Roles are groups created by a migration, with the permissions their patterns name."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from crm.roles import (
    ADMIN,
    AUDITOR,
    DATA_STEWARD,
    MARKETING,
    MEMBER_SERVICE,
    ROLE_LABELS,
    ROLES,
    SALES_MANAGER,
    SALES_REP,
    STAFF_ROLES,
    expand,
)
from tests.factories import UserFactory

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


def codenames(role: str) -> set[str]:
    return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))


@pytest.mark.parametrize("role", [MEMBER_SERVICE, SALES_MANAGER, SALES_REP, DATA_STEWARD])
def test_those_who_meet_customers_create_them(client, unit_a, role):
    assert "add_customer" in codenames(role)
    client.force_login(UserFactory(roles=[role], units=[unit_a]))
    assert client.get(reverse("customer-create")).status_code == 200


@pytest.mark.parametrize("role", [MARKETING, AUDITOR])
def test_marketing_and_the_auditor_create_no_customer(role):
    assert "add_customer" not in codenames(role)


def test_the_data_steward_keeps_the_master_clean():
    perms = codenames(DATA_STEWARD)
    assert {
        "view_duplicatecandidate",
        "merge_customer",
        "add_transaction",  # imports
        "view_job",
        "reveal_customer_pii",  # audited
        "change_importmapping",
        "change_sourcesystem",
        "view_customernote",
    } <= perms
    # configuration and people stay with the administrator
    assert not perms & {"change_businessunit", "add_apikey", "change_user", "delete_customer"}
    assert DATA_STEWARD in STAFF_ROLES  # names the sources in the admin
    assert str(ROLE_LABELS[DATA_STEWARD]) == "数据管理员"


def test_the_data_steward_names_sources_in_the_admin(client, unit_a):
    steward = UserFactory(roles=[DATA_STEWARD], units=[unit_a], is_staff=True)
    client.force_login(steward)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:crm_sourcesystem_changelist")).status_code == 200
    assert client.get(reverse("admin:crm_sourcesystem_add")).status_code == 200
    assert client.get(reverse("admin:crm_businessunit_add")).status_code == 403
