"""The routing rule's admin: the rep picker lists the active reps of the pool chosen in the
form (what the rule's validation accepts, nobody else), within the user's units; a rep who
does not fit, submitted anyway, is refused on the rep field naming the rep and the pool."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from crm.roles import SALES_REP
from leads.models import LeadPool, LeadPoolMember, RoutingRule
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REPS = reverse("admin:leads_routingrule_reps")
ADD = reverse("admin:leads_routingrule_add")


@pytest.fixture
def pools(unit_a, unit_b, rep_a, rep_b, team_pool):
    """The team pool: rep_a (rep), its manager, a rep who left; a second pool: rep_b; a pool
    of another unit."""
    rep_a.first_name, rep_a.last_name = "梅梅", "韩"
    rep_a.save()
    gone = UserFactory(username="gone", roles=[SALES_REP], units=[unit_a], is_active=False)
    LeadPoolMember.objects.create(pool=team_pool, user=gone)
    east = LeadPool.objects.create(business_unit=unit_a, name="华东二组")
    LeadPoolMember.objects.create(pool=east, user=rep_b)
    elsewhere = LeadPool.objects.create(business_unit=unit_b, name="物业组")
    LeadPoolMember.objects.create(
        pool=elsewhere, user=UserFactory(username="rep_other", roles=[SALES_REP], units=[unit_b])
    )
    return team_pool, east, elsewhere


def listed(client, **params) -> list[str]:
    response = client.get(REPS, params)
    assert response.status_code == 200
    return [row["text"] for row in response.json()["results"]]


def test_the_rep_picker_lists_the_active_reps_of_the_chosen_pool(client, admin_user, pools):
    team, east, elsewhere = pools
    client.force_login(admin_user)
    # not the pool's manager, not the rep who left, nobody of another pool
    assert listed(client, pool=team.pk) == ["韩梅梅 (rep_a)"]
    assert listed(client, pool=east.pk) == ["王伟 (rep_b)"]
    assert listed(client, pool=elsewhere.pk) == ["王伟 (rep_other)"]  # admins see every unit
    assert listed(client, pool=team.pk, term="韩梅") == ["韩梅梅 (rep_a)"]
    assert listed(client, pool=team.pk, term="rep_b") == []
    (hint,) = client.get(REPS, HTTP_ACCEPT_LANGUAGE="en").json()["results"]  # no pool yet
    assert hint == {"id": "-", "text": "Choose the target pool first.", "disabled": True}


def test_the_rep_picker_keeps_to_the_users_units_and_permissions(client, unit_a, rep_a, pools):
    team, _east, elsewhere = pools
    editor = UserFactory(username="editor", units=[unit_a], is_staff=True)
    editor.user_permissions.add(*Permission.objects.filter(codename="add_routingrule"))
    client.force_login(editor)
    assert listed(client, pool=team.pk) == ["韩梅梅 (rep_a)"]
    (hint,) = client.get(REPS, {"pool": elsewhere.pk}).json()["results"]
    assert hint["disabled"] is True  # another unit's pool: as if none were chosen
    viewer = UserFactory(username="viewer", units=[unit_a], is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_routingrule"))
    client.force_login(viewer)
    assert client.get(REPS, {"pool": team.pk}).status_code == 403
    client.force_login(rep_a)  # not staff: the admin's login page
    assert client.get(REPS, {"pool": team.pk}).status_code == 302


def test_the_form_asks_the_picker_for_the_chosen_pools_reps(client, admin_user, pools):
    client.force_login(admin_user)
    html = client.get(ADD).content.decode()
    assert 'class="leads-rep-autocomplete"' in html and 'data-pool-field="id_pool"' in html
    assert f'data-ajax--url="{REPS}"' in html and "js/rule_rep_picker.js" in html
    assert 'name="pool"' in html and "admin-autocomplete" in html  # the pool: Django's own


def test_a_rep_outside_the_pool_is_refused_on_the_rep_field_naming_both(
    client, admin_user, unit_a, rep_b, pools
):
    team, _east, _elsewhere = pools
    client.force_login(admin_user)
    form = {
        "business_unit": unit_a.pk,
        "name": "杭州直派",
        "priority": 5,
        "is_active": "on",
        "regions": "杭州",
        "industries": "",
        "pool": team.pk,
        "rep": rep_b.pk,
    }
    response = client.post(ADD, form, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["rep"]
    assert errors["rep"] == [
        f"王伟 (rep_b) is not an active rep of the pool “{team}”: choose one of its members "
        "with the rep role, or leave the rep empty."
    ]
    assert not RoutingRule.objects.exists()
    chinese = client.post(ADD, form, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"王伟 (rep_b) 不是线索池“{team}”的在职销售代表" in chinese
