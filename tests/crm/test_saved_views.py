"""Saved views: the filters of a list saved by name per user, opened, renamed, deleted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm import services
from crm.models import SavedView
from crm.roles import MEMBER_SERVICE, SALES_REP
from crm.services import IdentityInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = "crm.customers"


@pytest.fixture
def rep(unit_a):
    return UserFactory(roles=[SALES_REP], units=[unit_a])


def test_save_keeps_only_the_lists_filter_parameters(rep) -> None:
    view = services.save_view(
        user=rep,
        list_key=LIST,
        name="  Organizations   in AUTO ",
        query="?kind=organization&unit=3&after=abc&page=2&evil=1&q=&sort=-id",
    )
    assert view.name == "Organizations in AUTO"
    assert view.query == "kind=organization&unit=3"  # declared order, no cursor, no default
    assert services.sanitize_query(services.known_list(LIST), "sort=display_name&tag=2") == (
        "tag=2&sort=display_name"
    )
    assert view.user == rep and view.list_key == LIST


@pytest.mark.parametrize(
    ("name", "code"),
    [("", "invalid_saved_view"), ("   ", "invalid_saved_view"), ("x" * 81, "invalid_saved_view")],
)
def test_a_name_is_required_and_bounded(rep, name, code) -> None:
    with pytest.raises(services.InvalidSavedView) as err:
        services.save_view(user=rep, list_key=LIST, name=name, query="kind=person")
    assert err.value.field == "name" and err.value.code == code
    assert not SavedView.objects.exists()


def test_a_name_is_unique_per_user_and_list(rep) -> None:
    services.save_view(user=rep, list_key=LIST, name="VIP", query="tag=1")
    with pytest.raises(services.SavedViewNameTaken) as err:
        services.save_view(user=rep, list_key=LIST, name="VIP", query="tag=2")
    assert err.value.field == "name"
    other = UserFactory(roles=[SALES_REP])
    services.save_view(user=other, list_key=LIST, name="VIP", query="tag=2")  # their own
    assert SavedView.objects.count() == 2


def test_unknown_list_or_list_the_user_may_not_open_is_refused(rep) -> None:
    with pytest.raises(services.UnknownList):
        services.save_view(user=rep, list_key="leads.nothing", name="x", query="")
    nobody = UserFactory()
    with pytest.raises(services.UnknownList):
        services.save_view(user=nobody, list_key=LIST, name="x", query="")


def test_saving_from_the_list_redirects_to_the_saved_filter(client, rep) -> None:
    client.force_login(rep)
    response = client.post(
        reverse("saved-view-save"),
        {"list_key": LIST, "name": "People", "query": "kind=person&after=xyz"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customer-list") + "?kind=person"
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="saved-view-link"' in page and "People" in page


def test_htmx_save_answers_the_component_with_the_field_error(client, rep) -> None:
    services.save_view(user=rep, list_key=LIST, name="People", query="kind=person")
    client.force_login(rep)
    url = reverse("saved-view-save")
    response = client.post(
        url,
        {"list_key": LIST, "name": "People", "query": "kind=organization"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="saved-view-error"' in html and "People" in html
    response = client.post(url, {"list_key": LIST, "name": "", "query": ""}, HTTP_HX_REQUEST="true")
    assert 'data-testid="saved-view-error"' in response.content.decode()
    response = client.post(url, {"list_key": LIST, "name": "", "query": ""})  # without htmx
    assert response.status_code == 400
    assert 'data-testid="saved-view-error"' in response.content.decode()
    assert SavedView.objects.count() == 1


def test_rename_and_delete_only_ones_own_views(client, rep) -> None:
    mine = services.save_view(user=rep, list_key=LIST, name="A", query="kind=person")
    services.save_view(user=rep, list_key=LIST, name="B", query="kind=organization")
    theirs = services.save_view(
        user=UserFactory(roles=[SALES_REP]), list_key=LIST, name="T", query=""
    )
    client.force_login(rep)
    rename = reverse("saved-view-rename", args=[mine.pk])
    assert client.post(rename, {"name": "A2"}).status_code == 302
    mine.refresh_from_db()
    assert mine.name == "A2"
    response = client.post(rename, {"name": "B"})  # taken by another of mine
    assert response.status_code == 400
    assert "saved-view-error" in response.content.decode()
    mine.refresh_from_db()
    assert mine.name == "A2"
    assert (
        client.post(reverse("saved-view-rename", args=[theirs.pk]), {"name": "x"}).status_code
        == 404
    )
    assert client.post(reverse("saved-view-delete", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("saved-view-delete", args=[mine.pk])).status_code == 302
    assert list(SavedView.objects.filter(user=rep).values_list("name", flat=True)) == ["B"]
    assert SavedView.objects.filter(pk=theirs.pk).exists()


def test_the_manage_page_lists_views_with_a_confirmed_delete(client, rep) -> None:
    client.force_login(rep)
    assert 'data-testid="empty-state"' in client.get(reverse("saved-view-list")).content.decode()
    services.save_view(user=rep, list_key=LIST, name="VIP", query="tag=1")
    html = client.get(reverse("saved-view-list")).content.decode()
    assert 'data-testid="saved-view-row"' in html and "data-confirm=" in html
    assert reverse("customer-list") + "?tag=1" in html


def test_views_are_capped_per_list(rep) -> None:
    for n in range(services.workspace.SAVED_VIEWS_PER_LIST):
        services.save_view(user=rep, list_key=LIST, name=f"v{n}", query="")
    with pytest.raises(services.InvalidSavedView):
        services.save_view(user=rep, list_key=LIST, name="one more", query="")


def test_the_list_with_saved_views_keeps_a_constant_query_count(
    client, rep, django_assert_num_queries
) -> None:
    for n in range(3):
        services.resolve_customer(
            identities=[IdentityInput("mobile", f"1380013800{n}")],
            attributes={"display_name": f"客户{n}"},
            source="test",
        )
    client.force_login(rep)
    url = reverse("customer-list")
    client.get(url)
    with django_assert_num_queries(6) as few:
        client.get(url, {"kind": "person"})
    for n in range(10):
        services.save_view(user=rep, list_key=LIST, name=f"v{n}", query=f"tag={n}")
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url, {"kind": "person"})
    assert response.content.decode().count('data-testid="saved-view-link"') == 10


def test_the_current_view_is_named_on_the_button(client, unit_a) -> None:
    desk = UserFactory(roles=[MEMBER_SERVICE], units=[unit_a])
    services.save_view(user=desk, list_key=LIST, name="公司客户", query="kind=organization")
    client.force_login(desk)
    response = client.get(reverse("customer-list"), {"kind": "organization"})
    assert response.context is not None
    html = response.content.decode()
    assert "公司客户" in html and "dropdown-item active" in html
