"""The home page: each role's work to do, built from registered cards, in a pinned number of
queries whatever the amount of work waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import CreditProfile
from crm import services
from crm.demo_workspace import import_with_errors
from crm.models import DuplicateCandidate, Job, JobStatus, RecentView
from crm.registry import WorkItem, WorkList, dashboard_cards, work_list_card
from crm.roles import (
    ADMIN,
    AUDITOR,
    DATA_STEWARD,
    MARKETING,
    MEMBER_SERVICE,
    SALES_MANAGER,
    SALES_REP,
)
from crm.services import IdentityInput
from tests.accounts.conftest import make_uscc
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def make(phone: str, name: str = ""):
    attributes = {"display_name": name} if name else {}
    return services.resolve_customer(
        identities=[IdentityInput("mobile", phone)], attributes=attributes, source="test"
    ).customer


def make_duplicates(n: int, start: int = 0) -> list[DuplicateCandidate]:
    pairs = []
    for i in range(start, start + n):
        a, b = make(f"1380013{i:04d}", f"王伟{i}"), make(f"1390013{i:04d}", f"王伟{i}")
        candidate = services.record_duplicate_candidate(
            first=a, second=b, reason="manual", detail="test", score=50 + i % 40
        )
        candidate.created_at = timezone.now() - timedelta(days=100 - i)
        candidate.save(update_fields=["created_at"])
        pairs.append(candidate)
    return pairs


@pytest.fixture
def steward(unit_a):
    return UserFactory(username="steward", roles=[DATA_STEWARD], units=[unit_a])


@pytest.fixture
def rep(unit_a):
    return UserFactory(username="rep", roles=[SALES_REP], units=[unit_a])


def card(response, key):
    for item in response.context["cards"]:
        if item["card"].key == key:
            return item["context"].get("work", item["context"])
    return None


def test_the_steward_sees_duplicates_waiting_oldest_first_with_the_total(client, steward):
    pairs = make_duplicates(7)
    services.dismiss_candidate(candidate=pairs[0], actor=steward)  # decided: not waiting
    client.force_login(steward)
    response = client.get(reverse("home"))
    work = card(response, "duplicates-waiting")
    assert work.total == 6
    assert [i.url for i in work.items] == [
        reverse("duplicate-review", args=[p.pk]) for p in pairs[1:6]
    ]
    html = response.content.decode()
    assert 'data-card="duplicates-waiting"' in html and "王伟1 (#" in html
    assert reverse("duplicate-list") in html


def test_the_steward_sees_imports_with_errors_of_their_units_only(client, steward, unit_a, unit_b):
    importer = UserFactory(roles=[MARKETING], units=[unit_a, unit_b])
    mine = import_with_errors(unit=unit_a, user=importer, filename="a.csv")
    import_with_errors(unit=unit_b, user=importer, filename="b.csv")  # another unit
    clean = import_with_errors(
        unit=unit_a,
        user=importer,
        filename="ok.csv",
        data=b"external_id,occurred_at,amount\nX1,2026-11-01 10:00,5\n",
    )
    failed = Job.objects.create(
        kind="crm.import_transactions",
        business_unit=unit_a,
        status=JobStatus.FAILED,
        finished_at=timezone.now(),
        error="文件缺少必需的列",
        params={"filename": "broken.csv"},
    )
    assert mine.result["rejected"] == 3 and clean.result["rejected"] == 0
    client.force_login(steward)
    response = client.get(reverse("home"))
    work = card(response, "import-errors")
    assert [i.title for i in work.items] == ["broken.csv", "a.csv"]
    assert work.items[1].url == reverse("job-detail", args=[mine.pk])
    assert work.items[0].url == reverse("job-detail", args=[failed.pk])
    assert work.total == 2
    # named as every screen names them: the unit, the source's name, the count in Chinese
    assert work.items[1].subtitle == "AUTO · 门店收银 · 3 行被拒绝", work.items[1].subtitle
    # the job page links the rejected rows' file
    detail = client.get(work.items[1].url)
    assert detail.status_code == 200


def test_a_rep_has_no_steward_cards_but_recent_customers_and_saved_views(client, rep):
    make_duplicates(2)
    client.force_login(rep)
    keys = [i["card"].key for i in client.get(reverse("home")).context["cards"]]
    assert "duplicates-waiting" not in keys and "import-errors" not in keys
    assert {"recent-customers", "saved-views"} <= set(keys)


def test_the_member_service_desk_reviews_duplicates_but_follows_no_imports(client, unit_a):
    desk = UserFactory(roles=[MEMBER_SERVICE], units=[unit_a])
    client.force_login(desk)
    keys = [i["card"].key for i in client.get(reverse("home")).context["cards"]]
    assert "duplicates-waiting" in keys and "import-errors" not in keys


def test_duplicate_pairs_on_the_home_page_show_generated_names_as_placeholders(client, steward):
    a, b = make("13800138000", "李娜"), make("13900139000")  # b: generated from its identity
    services.record_duplicate_candidate(first=a, second=b, reason="manual", detail="x", score=50)
    client.force_login(steward)
    response = client.get(reverse("home"))
    title = card(response, "duplicates-waiting").items[0].title
    assert title.startswith(f"李娜 (#{a.pk}) ~ 未命名客户"), title
    assert "139****9000" in title and "13900139000" not in title  # masked, styled


def test_opening_a_360_records_a_recent_view_and_keeps_the_last_20(client, rep):
    customers = [make(f"1370000{n:04d}", f"客户{n}") for n in range(23)]
    client.force_login(rep)
    for c in customers:
        assert client.get(reverse("customer-detail", args=[c.pk])).status_code == 200
    client.get(reverse("customer-detail", args=[customers[5].pk]))  # again: moves to the top
    kept = list(
        RecentView.objects.filter(user=rep)
        .order_by("-viewed_at")
        .values_list("customer_id", flat=True)
    )
    assert len(kept) == services.RECENT_VIEWS_KEPT
    assert kept[0] == customers[5].pk
    assert set(kept) == {c.pk for c in customers[3:]}
    work = card(client.get(reverse("home")), "recent-customers")
    assert work.items[0].title == f"客户5 (#{customers[5].pk})"
    assert len(work.items) == 8


def test_recent_views_are_per_user_and_hide_merged_customers(client, rep, steward):
    a, b = make("13700000001", "甲"), make("13700000002")  # b: a generated (masked) name
    services.record_recent_view(user=rep, customer=a)
    services.record_recent_view(user=rep, customer=b)
    client.force_login(rep)
    work = card(client.get(reverse("home")), "recent-customers")
    assert [i.placeholder for i in work.items] == [True, False]
    assert "137****0002" in work.items[0].title  # masked, never the full number
    html = client.get(reverse("home")).content.decode()
    assert "13700000002" not in html
    services.merge_customers(survivor=a, loser=b, actor=steward, reason="同一人")
    work = card(client.get(reverse("home")), "recent-customers")
    assert [i.title for i in work.items] == [f"甲 (#{a.pk})"]
    client.force_login(steward)
    assert card(client.get(reverse("home")), "recent-customers").items == []


def test_saved_views_card_links_each_view(client, rep):
    services.save_view(user=rep, list_key="crm.customers", name="公司", query="kind=organization")
    client.force_login(rep)
    work = card(client.get(reverse("home")), "saved-views")
    assert [(i.title, i.url) for i in work.items] == [
        ("公司", reverse("customer-list") + "?kind=organization")
    ]


def test_empty_work_lists_say_so(client, steward):
    client.force_login(steward)
    html = client.get(reverse("home")).content.decode()
    for key in ("duplicates-waiting", "import-errors", "recent-customers", "saved-views"):
        assert f'data-card="{key}"' in html
    assert html.count('data-testid="empty-state"') >= 4


def test_any_app_registers_a_work_list_card_for_its_roles(client, rep, steward):
    from crm import registry

    def overdue(user):
        return WorkList(
            items=[WorkItem("跟进 1", "/x/1/", badge="逾期", badge_color="red")],
            total=12,
            empty_text="-",
            see_all_url="/x/",
            see_all_label="全部",
        )

    registry.register_card(
        work_list_card("test-overdue", "逾期线索", overdue, roles=frozenset({SALES_REP}))
    )
    try:
        assert "test-overdue" in [c.key for c in dashboard_cards(rep, set(rep.role_names()))]
        assert "test-overdue" not in [
            c.key for c in dashboard_cards(steward, set(steward.role_names()))
        ]
        client.force_login(rep)
        html = client.get(reverse("home")).content.decode()
        assert "逾期线索" in html and "跟进 1" in html and 'href="/x/"' in html
        assert 'data-testid="work-total"' in html
    finally:
        registry._cards.pop("test-overdue")


@pytest.mark.parametrize(
    ("role", "queries"),
    [
        (MEMBER_SERVICE, 9),  # + the recently enrolled members card
        # + "My accounts" and "Credit reviews due" (accounts app: items and count each, the
        # credit work below giving the user more than a card's five accounts)
        # + closing-soon opportunities (reps, one query)
        # + "My leads due today" (leads app: items and count)
        (SALES_REP, 13),
        (SALES_MANAGER, 12),
        # + customers at risk of churn (a page; its count once full), "Your segments" (2)
        (MARKETING, 11),
        (DATA_STEWARD, 13),  # + the blacklist queue card (items, count), the adjustments card
        (ADMIN, 13),
    ],
)
def test_home_page_query_count_per_role_does_not_grow_with_the_work(
    client, unit_a, role, queries, django_assert_num_queries
):
    user = UserFactory(roles=[role], units=[unit_a], is_staff=role == ADMIN)
    importer = UserFactory(roles=[MARKETING], units=[unit_a])
    proposer = UserFactory(roles=[SALES_MANAGER], units=[unit_a])

    def add_work(start: int) -> None:
        for pair in make_duplicates(6, start):
            services.record_recent_view(user=user, customer=pair.customer_a)
            services.propose_blacklisting(
                customer=pair.customer_a, user=proposer, reason="fraud", evidence="证据"
            )
        for n in range(6):  # credit reviews due on the user's accounts
            account = account_services.create_account(
                uscc=make_uscc(start + n),
                name=f"公司{start + n}",
                user=proposer,
                business_unit=unit_a,
                owner=user,
            ).account
            account_services.recompute_credit(account=account)
        CreditProfile.objects.update(next_review_on=timezone.localdate())
        account_services.flag_due_credit_reviews()
        for n in range(6):
            import_with_errors(unit=unit_a, user=importer, filename=f"f{start}-{n}.csv")
            services.save_view(
                user=user, list_key="crm.customers", name=f"v{start}-{n}", query=f"tag={n}"
            )

    add_work(0)
    client.force_login(user)
    client.get(reverse("home"))
    with django_assert_num_queries(queries):
        assert client.get(reverse("home")).status_code == 200
    add_work(100)
    with django_assert_num_queries(queries):
        client.get(reverse("home"))


def test_the_demo_gives_the_steward_real_work_and_runs_twice(client):
    from crm import demo_synthetic
    from crm.demo import USERS, load_platform_demo
    from crm.demo_workspace import SAMPLE_FILENAME, load_workspace_demo
    from crm.models import BusinessUnit, SavedView, User

    load_platform_demo()
    make_duplicates(3)
    units = {u.code: u for u in BusinessUnit.objects.all()}
    demo_synthetic.load_synthetic(units, persons=40, companies=5)
    first = {"import_jobs_with_errors": 1, "saved_views": 4, "notes": 2}
    assert load_workspace_demo(units) == first
    again = {"import_jobs_with_errors": 0, "saved_views": 0, "notes": 0}
    assert load_workspace_demo(units) == again
    from crm.models import CustomerNote

    pinned = CustomerNote.objects.get(pinned_at__isnull=False)
    client.force_login(User.objects.get(username="service"))  # the desk finds its note
    detail = client.get(reverse("customer-detail", args=[pinned.customer_id]))
    assert pinned.text in detail.content.decode()
    steward = User.objects.get(username="steward")
    assert steward.role_names() == {DATA_STEWARD}
    client.force_login(steward)
    response = client.get(reverse("home"))
    assert card(response, "duplicates-waiting").total >= 3
    imports = card(response, "import-errors")
    assert [i.title for i in imports.items] == [SAMPLE_FILENAME]
    assert "门店收银" in imports.items[0].subtitle  # the source by its name, not its code
    assert (
        len(card(response, "saved-views").items)
        == SavedView.objects.filter(user=steward).count()
        == 2
    )
    assert card(response, "recent-customers").items
    client.force_login(User.objects.get(username="marketing"))  # the importer sees it too
    assert card(client.get(reverse("home")), "import-errors").total == 1
    # Every demo role opens a home page with work on it, never only empty lists.
    for spec in USERS:
        client.force_login(User.objects.get(username=spec.username))
        cards = client.get(reverse("home")).context["cards"]
        work = [c["context"]["work"] for c in cards if "work" in c["context"]]
        assert any(w.items for w in work), spec.username
        if spec.role != AUDITOR:  # the auditor only reads
            assert card_items(cards, "recent-customers"), spec.username


def card_items(cards, key):
    for item in cards:
        if item["card"].key == key:
            return item["context"]["work"].items
    return []
