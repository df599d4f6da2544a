"""The web shell: dashboard per role, navigation, global search, lists, error pages."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Job, JobStatus
from crm.roles import AUDITOR, MEMBER_SERVICE
from tests.factories import BusinessUnitFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_dashboard_shows_units_team_chart_and_jobs(client, admin_user, unit_b):
    client.force_login(admin_user)
    response = client.get(reverse("home"))
    keys = [item["card"].key for item in response.context["cards"]]
    assert keys == [
        "blacklist-pending",
        "duplicates-waiting",
        "import-errors",
        "recent-customers",
        "saved-views",
        "my-units",
        "team",
        "jobs",
    ]
    html = response.content.decode()
    assert "per-role-data" in html and "echarts.min.js" in html
    assert "星辰物业" in html  # admins see every unit


def test_rep_dashboard_has_no_team_card_and_no_admin_link(client, rep_a):
    client.force_login(rep_a)
    response = client.get(reverse("home"))
    keys = [item["card"].key for item in response.context["cards"]]
    assert "team" not in keys and "my-units" in keys
    assert "/admin/" not in response.content.decode()


def test_navigation_follows_permissions(client, rep_a, admin_user):
    client.force_login(rep_a)
    rep_nav = [i.key for i in client.get(reverse("home")).context["nav_items"]]
    assert rep_nav == [
        "home",
        "customers",
        "accounts",
        "leads-pool",
        "leads-mine",
        "pipeline",
        "business-units",
        "jobs",
    ]
    nobody = UserFactory()
    client.force_login(nobody)
    assert [i.key for i in client.get(reverse("home")).context["nav_items"]] == ["home"]


def test_user_without_any_card_gets_an_empty_state(client):
    client.force_login(UserFactory())
    response = client.get(reverse("home"))
    assert response.context["cards"] == []
    assert response.status_code == 200


def test_global_search_finds_units_by_name_and_code_within_scope(client, rep_a, unit_b):
    client.force_login(rep_a)
    response = client.get(reverse("search"), {"q": "汽车"})
    titles = [r.title for g in response.context["groups"] for r in g["results"]]
    assert titles == ["星辰汽车"]
    response = client.get(reverse("search"), {"q": "PROP"})  # another unit: not found
    assert response.context["total"] == 0


def test_global_search_htmx_returns_the_partial(client, rep_a):
    client.force_login(rep_a)
    response = client.get(reverse("search"), {"q": "AUTO"}, HTTP_HX_REQUEST="true")
    assert response.templates[0].name == "crm/_search_results.html"
    assert 'data-testid="search-result"' in response.content.decode()


def test_search_finds_users_for_managers_only(client, rep_a, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("search"), {"q": "rep_a"})
    assert any(g["provider"].key == "users" and g["results"] for g in response.context["groups"])
    client.force_login(rep_a)
    response = client.get(reverse("search"), {"q": "rep_a"})
    assert all(g["provider"].key != "users" for g in response.context["groups"])


def test_business_unit_list_searches_sorts_and_paginates(client, admin_user):
    for i in range(30):
        BusinessUnitFactory(code=f"Z{i:02d}", name=f"测试单位{i:02d}")
    client.force_login(admin_user)
    first = client.get(reverse("business-unit-list"), {"sort": "-code"})
    assert first.context["page"].paginator.count == 31
    assert first.context["page"].object_list[0].code == "Z29"
    assert len(first.context["page"].object_list) == 25
    second = client.get(reverse("business-unit-list"), {"sort": "-code", "page": 2})
    assert [u.code for u in second.context["page"].object_list][-1] == "AUTO"
    found = client.get(reverse("business-unit-list"), {"q": "单位07"})
    assert [u.code for u in found.context["page"].object_list] == ["Z07"]
    bad_sort = client.get(reverse("business-unit-list"), {"sort": "password", "page": "x"})
    assert bad_sort.status_code == 200 and bad_sort.context["sort"] == "code"


def test_business_unit_list_query_count_is_constant(
    client, admin_user, django_assert_max_num_queries
):
    client.force_login(admin_user)
    for i in range(40):
        BusinessUnitFactory(code=f"N{i:02d}")
    with django_assert_max_num_queries(9):
        assert client.get(reverse("business-unit-list")).status_code == 200


def test_business_unit_detail_lists_its_users_with_roles(client, admin_user, unit_a):
    UserFactory(username="svc", roles=[MEMBER_SERVICE], units=[unit_a])
    client.force_login(admin_user)
    html = client.get(reverse("business-unit-detail", args=[unit_a.pk])).content.decode()
    assert "svc" in html and "会员服务" in html  # the role's translated label


def test_job_list_filters_by_status_with_constant_queries(
    client, admin_user, django_assert_max_num_queries
):
    for i in range(30):
        Job.objects.create(
            kind="crm.housekeeping",
            created_by=admin_user,
            status=JobStatus.SUCCEEDED if i % 2 else JobStatus.FAILED,
            finished_at=timezone.now(),
        )
    client.force_login(admin_user)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("job-list"), {"status": "failed"})
    assert response.context["page"].paginator.count == 15


def test_auditor_cannot_start_jobs(client, unit_a):
    auditor = UserFactory(roles=[AUDITOR], units=[unit_a])
    client.force_login(auditor)
    assert client.get(reverse("job-list")).status_code == 200
    assert client.post(reverse("job-start-housekeeping")).status_code == 403
    assert not Job.objects.exists()


def test_unknown_page_is_a_friendly_404(client, rep_a):
    client.force_login(rep_a)
    response = client.get("/no/such/page/")
    assert response.status_code == 404


def test_static_assets_are_vendored_not_from_a_cdn(client, rep_a):
    client.force_login(rep_a)
    html = client.get(reverse("home")).content.decode()
    for asset in ("vendor/tabler/tabler.min.css", "vendor/htmx/htmx.min.js"):
        assert f"/static/{asset}" in html
    assert "cdn." not in html and "googleapis" not in html


def test_admin_is_branded_and_usable(client, admin_user):
    client.force_login(admin_user)
    html = client.get("/admin/").content.decode()
    assert "集团 CRM" in html or "Group CRM" in html
    response = client.get("/admin/crm/user/", {"q": "rep"})
    assert response.status_code == 200
    assert client.get("/admin/crm/apikey/").status_code == 200
    assert client.get("/admin/crm/job/").status_code == 200


def test_search_page_query_count_is_constant(client, admin_user, django_assert_max_num_queries):
    for i in range(30):
        BusinessUnitFactory(code=f"S{i:02d}", name=f"搜索单位{i:02d}")
    client.force_login(admin_user)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("search"), {"q": "搜索"})
    assert response.context["total"] == 8  # capped per provider


def test_rep_never_sees_user_results_that_would_open_the_admin(client, unit_a):
    manager = UserFactory(roles=["sales_manager"], units=[unit_a])
    client.force_login(manager)
    response = client.get(reverse("search"), {"q": "user"})
    assert all(not g["results"] for g in response.context["groups"] if g["provider"].key == "users")
