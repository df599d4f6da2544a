"""In-app notifications: ``crm.services.notify`` (bulk, deduplicated, in each recipient's
language), the bell in the top bar (no query of its own) and the notifications page."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.translation import gettext as _

from crm import services
from crm.auth_backends import unread_notification_count
from crm.models import UNREAD_COUNT_CAP, Notification, User
from crm.roles import SALES_REP
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def test_notify_writes_one_row_per_recipient_in_one_insert(
    unit_a: Any, rep_a: User, admin_user: User, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        written = services.notify(
            [rep_a, admin_user, rep_a], "test.kind", "Stock gone", "Details", "/customers/"
        )
    assert written == 2
    rows = Notification.objects.order_by("recipient_id")
    assert [(n.recipient_id, n.title, n.body, n.link, n.read_at) for n in rows] == [
        (rep_a.pk, "Stock gone", "Details", "/customers/", None),
        (admin_user.pk, "Stock gone", "Details", "/customers/", None),
    ][:: 1 if rep_a.pk < admin_user.pk else -1]


def test_notify_by_id_skips_inactive_and_unknown_users(unit_a: Any) -> None:
    active = UserFactory(units=[unit_a])
    gone = UserFactory(units=[unit_a], is_active=False)
    assert services.notify([active.pk, gone.pk, 999_999], "test.kind", "Hello") == 1
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [active.pk]
    assert services.notify([], "test.kind", "Nobody") == 0


def test_each_recipient_reads_their_own_language(unit_a: Any) -> None:
    english = UserFactory(units=[unit_a], language="en")
    chinese = UserFactory(units=[unit_a], language="zh-hans")
    default = UserFactory(units=[unit_a], language="")  # the site's default: Chinese
    services.notify(
        [english, chinese.pk, default],
        "test.kind",
        title=lambda: _("Notifications"),
        body=lambda: _("Nothing was unread."),
    )
    texts = dict(Notification.objects.values_list("recipient_id", "title"))
    assert texts[english.pk] == "Notifications"
    assert texts[chinese.pk] == texts[default.pk] == "通知"
    bodies = dict(Notification.objects.values_list("recipient_id", "body"))
    assert bodies[english.pk] == "Nothing was unread." and bodies[chinese.pk] != bodies[english.pk]


def test_dedup_key_tells_a_user_once(rep_a: User, admin_user: User) -> None:
    assert services.notify(rep_a, "test.kind", "Once", dedup_key="rule:1:exhausted") == 1
    assert services.notify(rep_a, "test.kind", "Once", dedup_key="rule:1:exhausted") == 0
    # another user under the same key, or the same user under another key: written
    both = [rep_a, admin_user]
    assert services.notify(both, "test.kind", "Once", dedup_key="rule:1:exhausted") == 1
    assert services.notify(rep_a, "test.kind", "Again", dedup_key="rule:1:exhausted-2") == 1
    assert Notification.objects.filter(recipient=rep_a).count() == 2
    # the database holds it too
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            recipient=rep_a, kind="x", title="raw", dedup_key="rule:1:exhausted"
        )


@pytest.mark.django_db(transaction=True)
def test_dedup_key_holds_for_writers_at_the_same_instant(unit_a: Any) -> None:
    user = UserFactory(units=[unit_a])
    barrier = threading.Barrier(8)
    written: list[int] = []

    def write() -> None:
        try:
            barrier.wait()
            written.append(services.notify(user.pk, "test.kind", "Race", dedup_key="race"))
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Notification.objects.filter(recipient=user, dedup_key="race").count() == 1
    assert sum(written) >= 1


@pytest.mark.parametrize(
    "link", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "/x" * 200]
)
def test_links_stay_on_this_site(rep_a: User, link: str) -> None:
    with pytest.raises(services.InvalidNotification) as refused:
        services.notify(rep_a, "test.kind", "Title", link=link)
    assert refused.value.field == "link"
    assert not Notification.objects.exists()


def test_a_title_and_a_kind_are_required(rep_a: User) -> None:
    with pytest.raises(services.InvalidNotification):
        services.notify(rep_a, "test.kind", "  ")
    with pytest.raises(services.InvalidNotification):
        services.notify(rep_a, "", "Title")


def test_unread_count_comes_with_the_permissions_query(
    unit_a: Any, rep_a: User, django_assert_num_queries: Any
) -> None:
    services.notify(rep_a, "test.kind", "One")
    services.notify(rep_a, "test.kind", "Two")
    fresh = _fresh(rep_a)
    with django_assert_num_queries(1):
        assert fresh.has_perm("crm.view_customer")
        assert fresh.role_names() == {SALES_REP}
        assert unread_notification_count(fresh) == 2


def test_unread_count_of_a_superuser_comes_with_the_role_names(
    unit_a: Any, django_assert_num_queries: Any
) -> None:
    boss = UserFactory(units=[unit_a], is_superuser=True, roles=[SALES_REP])
    services.notify(boss, "test.kind", "One")
    fresh = _fresh(boss)
    with django_assert_num_queries(1):
        assert unread_notification_count(fresh) == 1
        assert fresh.role_names() == {SALES_REP}
        assert fresh.has_perm("crm.delete_customer")


def test_unread_count_is_capped(rep_a: User) -> None:
    services.notify(rep_a, "test.kind", "Many")
    Notification.objects.bulk_create(
        [Notification(recipient=rep_a, kind="test.kind", title=f"n{i}") for i in range(150)]
    )
    assert unread_notification_count(_fresh(rep_a)) == UNREAD_COUNT_CAP


# --- screens ---------------------------------------------------------------------------------


def test_bell_shows_the_unread_count_without_a_query_of_its_own(
    client: Any, rep_a: User, django_assert_num_queries: Any
) -> None:
    client.force_login(rep_a)
    with CaptureQueriesContext(connection) as before:
        page = client.get(reverse("home"))
    # no query of its own: the count rides on the permissions' query
    assert not any(
        "crm_notification" in q["sql"] and "UNION" not in q["sql"] for q in before.captured_queries
    )
    assert 'data-testid="notification-bell"' in page.text
    assert 'data-testid="notification-count"' not in page.text
    services.notify(rep_a, "test.kind", "Budget gone")
    services.notify(rep_a, "test.kind", "Stock gone")
    with django_assert_num_queries(len(before.captured_queries)):
        page = client.get(reverse("home"))
    assert 'data-testid="notification-count">2<' in page.text


def test_bell_says_99_plus(client: Any, rep_a: User) -> None:
    Notification.objects.bulk_create(
        [Notification(recipient=rep_a, kind="test.kind", title=f"n{i}") for i in range(120)]
    )
    client.force_login(rep_a)
    assert 'data-testid="notification-count">99+<' in client.get(reverse("home")).text


def test_page_lists_only_the_users_own_newest_first_with_constant_queries(
    client: Any, rep_a: User, admin_user: User, django_assert_num_queries: Any
) -> None:
    services.notify(admin_user, "test.kind", "Not yours")
    for i in range(45):
        services.notify(rep_a, "test.kind", f"Mine {i:02d}", link="/customers/")
    client.force_login(rep_a)
    with django_assert_num_queries(4):  # session, user with permissions+count, page count, page
        page = client.get(reverse("notification-list"))
    titles = [n.title for n in page.context["page"].object_list]
    assert titles[0] == "Mine 44" and len(titles) == 20
    assert "Not yours" not in page.text
    assert page.context["page"].paginator.count == 45
    with django_assert_num_queries(4):
        last = client.get(reverse("notification-list"), {"page": 3})
    assert [n.title for n in last.context["page"].object_list] == [
        f"Mine {i:02d}" for i in range(4, -1, -1)
    ]
    assert 'data-testid="pagination"' in last.text


def test_open_marks_read_and_follows_the_link(client: Any, rep_a: User) -> None:
    services.notify(rep_a, "test.kind", "Go there", link="/jobs/")
    note = Notification.objects.get()
    client.force_login(rep_a)
    response = client.post(reverse("notification-open", args=[note.pk]))
    assert response.status_code == 302 and response.url == "/jobs/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_mark_read_and_mark_all_read(client: Any, rep_a: User, admin_user: User) -> None:
    for i in range(3):
        services.notify(rep_a, "test.kind", f"Mine {i}")
    services.notify(admin_user, "test.kind", "Theirs")
    theirs = Notification.objects.get(recipient=admin_user)
    first = Notification.objects.filter(recipient=rep_a).order_by("id").first()
    client.force_login(rep_a)
    unread_url = reverse("notification-list") + "?show=unread"
    response = client.post(reverse("notification-read", args=[first.pk]), {"next": unread_url})
    assert response.status_code == 302 and response.url == unread_url
    assert Notification.objects.filter(recipient=rep_a, read_at__isnull=True).count() == 2
    # someone else's notification is not touched
    client.post(reverse("notification-read", args=[theirs.pk]))
    client.post(reverse("notification-open", args=[theirs.pk]))
    theirs.refresh_from_db()
    assert theirs.read_at is None
    page = client.get(unread_url)
    assert len(page.context["page"].object_list) == 2
    response = client.post(reverse("notification-read-all"), follow=True)
    assert "2" in response.text  # "2 notifications marked read."
    assert not Notification.objects.filter(recipient=rep_a, read_at__isnull=True).exists()
    assert 'data-testid="notification-count"' not in response.text
    response = client.post(reverse("notification-read-all"), follow=True)
    assert "没有未读" in response.text or "Nothing was unread" in response.text


def test_empty_states_in_both_languages(client: Any, rep_a: User) -> None:
    client.force_login(rep_a)
    page = client.get(reverse("notification-list"))
    assert 'data-testid="empty-state"' in page.text and "暂无通知" in page.text
    unread = client.get(reverse("notification-list"), {"show": "unread"})
    assert "没有未读通知" in unread.text
    rep_a.language = "en"
    rep_a.save(update_fields=["language"])
    page = client.get(reverse("notification-list"))
    assert "No notifications yet" in page.text
    assert "Nothing unread" in client.get(reverse("notification-list"), {"show": "unread"}).text


def test_the_page_needs_a_signed_in_user(client: Any) -> None:
    response = client.get(reverse("notification-list"))
    assert response.status_code == 302 and "login" in response.url
    assert client.post(reverse("notification-read-all")).status_code == 302
