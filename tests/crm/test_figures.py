"""Figures users read: first/last purchase (completed purchases only, one definition, an
index-only scan), money per locale, source system names, generated names as a placeholder
sorted last, merges named by numbers, the job list."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from crm import selectors, services
from crm.models import (
    Customer,
    Identity,
    Job,
    JobStatus,
    Merge,
    SourceSystem,
    TimelineEvent,
    Transaction,
)
from crm.money import format_money
from crm.roles import ADMIN, MEMBER_SERVICE, SALES_REP
from crm.selectors.customers import SORTS
from crm.services import IdentityInput, TransactionInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
PHONE = "13800138000"


def make(phone: str, name: str | None = None, **attrs: object) -> Customer:
    attributes = {"display_name": name, **attrs} if name else dict(attrs)
    return services.resolve_customer(
        identities=[IdentityInput("mobile", phone)], attributes=attributes, source="pos"
    ).customer


def order(external_id, when, amount, *, kind="purchase", original="", phone=PHONE, **kw):
    return TransactionInput(
        external_id,
        when,
        amount,
        "store",
        kind=kind,
        original_external_id=original,
        identities=[IdentityInput("mobile", phone)],
        **kw,
    )


@pytest.fixture(autouse=True)
def sources(db) -> None:
    """The names migration 0011 seeds (a test that commits flushes them)."""
    seeds = importlib.import_module("crm.migrations.0012_source_systems_and_customer_notes")
    for code, (name_zh, name_en) in seeds.SOURCES.items():
        SourceSystem.objects.get_or_create(
            code=code, defaults={"name_zh": name_zh, "name_en": name_en}
        )


@pytest.fixture
def desk(unit_a, unit_b):
    return UserFactory(roles=[MEMBER_SERVICE], units=[unit_a, unit_b])


@pytest.fixture
def rep(unit_a):
    return UserFactory(roles=[SALES_REP], units=[unit_a])


# --- First and last purchase -----------------------------------------------------------------


@pytest.fixture
def history(unit_a):
    """A purchase on day 0, one on day 10 cancelled as a whole on day 12, a zero-amount order
    on day 20 and a partial refund of the first on day 30: the last purchase is day 0's."""
    services.ingest_transactions(
        business_unit=unit_a,
        source="pos",
        rows=[
            order("P1", WHEN, "100.00"),
            order("P2", WHEN + timedelta(days=10), "50.00"),
            order("C2", WHEN + timedelta(days=12), "-50.00", kind="cancellation", original="P2"),
            order("Z1", WHEN + timedelta(days=20), "0.00"),
            order("C1", WHEN + timedelta(days=30), "-20.00", kind="cancellation", original="P1"),
        ],
    )
    assert Transaction.objects.get(external_id="P2").status == "refunded"
    assert Transaction.objects.get(external_id="P1").status == "partly_refunded"
    return Customer.objects.get(identities__value="+8613800138000")


def test_first_and_last_purchase_count_completed_purchases_only(client, desk, history) -> None:
    client.force_login(desk)
    response = client.get(reverse("customer-detail", args=[history.pk]))
    (unit,) = response.context["units"]
    # The refund (day 30), the order cancelled as a whole (day 10), the zero order (day 20)
    # are not purchases: first = last = day 0; net spend counts every amount.
    assert unit["first"] == WHEN and unit["last"] == WHEN
    assert unit["orders"] == 1 and unit["refunds"] == 2
    assert unit["spend"] == Decimal("80.00")
    html = response.content.decode()
    assert 'data-testid="purchase-help"' in html and "退款" in html  # the tooltip explains it

    rows = client.get(reverse("customer-list")).context["page"].rows
    assert [(c.pk, c.last_purchase) for c in rows] == [(history.pk, WHEN)]


def test_a_refund_alone_is_no_purchase(client, desk, unit_a) -> None:
    customer = make(PHONE, "王伟")
    services.ingest_transactions(
        business_unit=unit_a,
        source="pos",
        rows=[order("R1", WHEN, "-5.00", kind="cancellation"), order("Z", WHEN, "0")],
    )
    client.force_login(desk)
    (unit,) = client.get(reverse("customer-detail", args=[customer.pk])).context["units"]
    assert unit["first"] is None and unit["last"] is None and unit["orders"] == 0
    (row,) = client.get(reverse("customer-list")).context["page"].rows
    assert row.last_purchase is None


def test_the_list_and_the_360_view_share_one_definition(history, admin_user) -> None:
    visible = Transaction.objects.visible_to(admin_user)
    listed = Customer.objects.annotate(
        first=selectors.first_purchase(visible), last=selectors.last_purchase(visible)
    ).get(pk=history.pk)
    (unit,) = selectors.purchase_totals(visible.filter(customer=history))
    assert (listed.first, listed.last) == (unit["first"], unit["last"]) == (WHEN, WHEN)
    assert list(Transaction.objects.purchases().values_list("external_id", flat=True)) == ["P1"]


def test_the_list_query_count_is_pinned_and_does_not_grow(
    client, rep, unit_a, django_assert_num_queries
) -> None:
    for n in range(3):
        make(f"138001380{n:02d}", f"客户{n:02d}")
    client.force_login(rep)
    url = reverse("customer-list")
    client.get(url)  # session, permissions and the estimate's first read
    # session, user, permissions and roles (one query), units, the page (phone and last purchase as
    # subqueries), the estimate (and a count: never analysed), the filters' units and tags
    # +1: the saved views of the list
    with django_assert_num_queries(8) as few:
        client.get(url)
    for n in range(3, 40):
        phone = f"138001380{n:02d}"
        make(phone, f"客户{n:02d}")
        services.ingest_transactions(
            business_unit=unit_a, source="pos", rows=[order(f"L{n}", WHEN, "9", phone=phone)]
        )
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["page"].rows) == 25
    assert all(c.last_purchase == WHEN for c in response.context["page"].rows[:5])


def _vacuum(*tables: str) -> None:
    """Statistics and the visibility map, as autovacuum keeps them (outside a transaction:
    these tests commit)."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def _plan(sql: str, params: list[object]) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_last_purchase_is_an_index_only_scan_on_thousands_of_rows(unit_a, unit_b, rep) -> None:
    """3,000 transactions of 300 customers: the list's last purchase (purchases only, in the
    user's units) and the 360 view's per-unit totals read the covering index alone."""
    customers = Customer.objects.bulk_create(Customer(display_name=f"客户{n}") for n in range(300))
    Transaction.objects.bulk_create(
        Transaction(
            business_unit=unit_a if n % 3 else unit_b,
            customer=customers[n % 300],
            source="bench",
            external_id=f"B{n}",
            channel="store",
            kind="cancellation" if n % 10 == 0 else "purchase",
            amount=Decimal(-5 if n % 10 == 0 else n % 7),
            occurred_at=WHEN - timedelta(hours=n),
        )
        for n in range(3000)
    )
    _vacuum("crm_transaction", "crm_customer")
    page = (
        Customer.objects.live()
        .annotate(last=selectors.last_purchase(Transaction.objects.visible_to(rep)))
        .order_by("-id")[:25]
    )
    sql, params = page.query.sql_with_params()
    plan = _plan(sql, list(params))
    assert "Index Only Scan using transaction_customer_totals" in plan, plan
    totals = selectors.purchase_totals(
        Transaction.objects.visible_to(rep).filter(customer=customers[0])
    )
    sql, params = totals.query.sql_with_params()
    plan = _plan(sql, list(params))
    assert "Index Only Scan using transaction_customer_totals" in plan, plan


# --- Money per locale ---------------------------------------------------------------------------


def test_counts_are_grouped() -> None:
    from crm.money import format_count

    assert format_count(1234567) == "1,234,567" and format_count(12) == "12"
    assert format_count("n/a") == "n/a" and format_count(True) == "True"


@pytest.mark.parametrize(
    ("amount", "currency", "language", "shown"),
    [
        ("1234.5", "CNY", "zh-hans", "¥1,234.50"),
        ("1234.5", "CNY", "en", "CN¥1,234.50"),
        ("-1234567.891", "CNY", "zh-hans", "-¥1,234,567.89"),
        ("12", "GBP", "zh-hans", "£12.00"),
        ("9999.99", "HKD", "en", "HK$9,999.99"),
        ("1500", "USD", "zh-hans", "US$1,500.00"),
        ("1500", "USD", "en", "$1,500.00"),
        ("123456", "JPY", "en", "¥123,456"),
        ("1000", "CHF", "en", "CHF 1,000.00"),
        ("0", "CNY", "zh-hans", "¥0.00"),
        ("-0.001", "CNY", "zh-hans", "¥0.00"),
    ],
)
def test_money_is_formatted_per_language(amount, currency, language, shown) -> None:
    assert format_money(Decimal(amount), currency, language=language) == shown
    with translation.override(language):
        assert format_money(Decimal(amount), currency) == shown


def test_money_on_the_360_view_in_both_languages(client, desk, unit_a) -> None:
    customer = make(PHONE, "王伟")
    services.ingest_transactions(
        business_unit=unit_a, source="pos", rows=[order("M1", WHEN, "1234.50")]
    )
    client.force_login(desk)
    url = reverse("customer-detail", args=[customer.pk])
    html = client.get(url).content.decode()
    assert "¥1,234.50" in html and "CN¥" not in html
    html = client.get(url, {"tab": "transactions"}).content.decode()
    assert "¥1,234.50" in html and "1234.50 CNY" not in html
    desk.language = "en"
    desk.save(update_fields=["language"])
    html = client.get(url).content.decode()
    assert "CN¥1,234.50" in html


def test_money_and_source_names_in_the_admin(client, unit_a) -> None:
    boss = UserFactory(roles=[ADMIN], units=[unit_a], is_staff=True)
    make(PHONE, "王伟")
    services.ingest_transactions(
        business_unit=unit_a, source="pos", rows=[order("A1", WHEN, "1234.5", currency="GBP")]
    )
    client.force_login(boss)
    html = client.get(reverse("admin:crm_transaction_changelist")).content.decode()
    assert "£1,234.50" in html and "门店收银" in html
    html = client.get(reverse("admin:crm_identity_changelist")).content.decode()
    assert "门店收银" in html


# --- Source system names ------------------------------------------------------------------------


def test_source_names_in_both_languages_and_unknown_codes_as_they_are() -> None:
    from django.apps import apps

    SourceSystem.objects.all().delete()
    seeds = importlib.import_module("crm.migrations.0012_source_systems_and_customer_notes")
    seeds.seed_sources(apps, None)
    seeds.seed_sources(apps, None)  # again: nothing changes
    assert SourceSystem.objects.count() == len(seeds.SOURCES)
    # Every source the demo writes has a name.
    assert {"online_retail", "demo", "demo_mart", "demo_legacy_pos", "demo_wechat"} <= set(
        SourceSystem.objects.values_list("code", flat=True)
    )
    selectors.forget_source_names()
    with translation.override("zh-hans"):
        assert selectors.source_label("pos") == "门店收银"
    with translation.override("en"):
        assert selectors.source_label("pos") == "Store POS"
    assert selectors.source_label("brand_new_pos") == "brand_new_pos"
    assert selectors.source_label("") == ""


def test_ingest_needs_no_source_system_and_names_show_once_added(client, desk, unit_a) -> None:
    result = services.ingest_transactions(
        business_unit=unit_a, source="kiosk_2027", rows=[order("K1", WHEN, "10")]
    )
    assert result.created == 1 and not SourceSystem.objects.filter(code="kiosk_2027").exists()
    customer = Customer.objects.get(identities__value="+8613800138000")
    client.force_login(desk)
    url = reverse("customer-detail", args=[customer.pk])
    assert "kiosk_2027" in client.get(url).content.decode()
    SourceSystem.objects.create(code="kiosk_2027", name_zh="自助终端", name_en="Kiosk")
    selectors.forget_source_names()  # what the admin does after an edit
    html = client.get(url).content.decode()
    assert html.count("自助终端") >= 3  # header, identity, timeline (created, purchase)
    html = client.get(url, {"tab": "transactions"}).content.decode()
    assert "自助终端" in html


def test_the_admin_edit_of_a_source_name_shows_at_once(admin_client) -> None:
    selectors.source_label("pos")  # loaded and kept
    source = SourceSystem.objects.get(code="pos")
    response = admin_client.post(
        reverse("admin:crm_sourcesystem_change", args=[source.pk]),
        {"code": "pos", "name_zh": "收银台", "name_en": "Till", "business_unit": ""},
    )
    assert response.status_code == 302
    with translation.override("zh-hans"):
        assert selectors.source_label("pos") == "收银台"


# --- Generated names ----------------------------------------------------------------------------


def test_generated_names_show_as_a_placeholder_and_sort_after_real_names(client, desk) -> None:
    unnamed = make("13900139000")  # known by its phone only
    assert unnamed.name_is_generated and unnamed.display_name == "139****9000"
    make("13800138001", "阿强")
    make("13800138002", "张伟")
    client.force_login(desk)
    url = reverse("customer-list")
    ordered = client.get(url, {"sort": "display_name"}).context["page"].rows
    assert [c.display_name for c in ordered] == ["张伟", "阿强", "139****9000"]
    reversed_ = client.get(url, {"sort": "-display_name"}).context["page"].rows
    assert [c.display_name for c in reversed_] == ["阿强", "张伟", "139****9000"]
    html = client.get(url).content.decode()
    assert 'class="customer-unnamed" data-testid="unnamed">未命名客户</span>' in html
    detail = client.get(reverse("customer-detail", args=[unnamed.pk])).content.decode()
    assert "<title>未命名客户（139****9000）" in detail
    desk.language = "en"
    desk.save(update_fields=["language"])
    detail = client.get(reverse("customer-detail", args=[unnamed.pk])).content.decode()
    assert "Unnamed customer" in detail and "139****9000" in detail


def test_sorting_by_name_pages_through_generated_names_last(client, desk) -> None:
    for n in range(20):
        make(f"1380013{n:04d}", f"客户{n:02d}")
    for n in range(10):
        make(f"1390013{n:04d}")
    client.force_login(desk)
    url = reverse("customer-list")
    first = client.get(url, {"sort": "display_name"}).context["page"]
    second = client.get(url, {"sort": "display_name", "after": first.next_cursor}).context["page"]
    flags = [c.name_is_generated for c in first.rows + second.rows]
    assert len(flags) == 30 and flags == sorted(flags) and flags[-1]


@pytest.mark.django_db(transaction=True)
def test_the_name_sort_reads_its_index(desk) -> None:
    Customer.objects.bulk_create(
        Customer(display_name=f"客户{n:04d}", name_is_generated=n % 5 == 0) for n in range(3000)
    )
    _vacuum("crm_customer")
    for sort, index in (
        ("display_name", "customer_live_name_asc"),
        ("-display_name", "customer_live_name_desc"),
    ):
        fields = SORTS[sort]
        query = Customer.objects.live().order_by(*fields).values("id")[:26]
        sql, params = query.query.sql_with_params()
        assert f"Index Only Scan using {index}" in _plan(sql, list(params)) or (
            f"Index Scan using {index}" in _plan(sql, list(params))
        )


def test_the_migration_marks_names_generated_before_the_flag_existed(unit_a) -> None:
    by_phone = make("13700137000", "placeholder")
    retail = services.resolve_customer(
        identities=[IdentityInput("external", "online_retail:12347")],
        attributes={"display_name": "Online Retail 12347"},
        source="online_retail",
    ).customer
    real = make("13600136000", "李娜")
    Customer.objects.filter(pk=by_phone.pk).update(display_name="137****7000")
    assert not Customer.objects.filter(name_is_generated=True).exists()
    migration = importlib.import_module("crm.migrations.0013_mark_generated_names")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection  # type: ignore[attr-defined]
    migration.BATCH = 2  # several batches
    migration.mark(None, editor)
    assert set(Customer.objects.filter(name_is_generated=True).values_list("pk", flat=True)) == {
        by_phone.pk,
        retail.pk,
    }
    assert not Customer.objects.get(pk=real.pk).name_is_generated


def test_a_real_name_from_a_later_record_or_a_merge_replaces_the_placeholder(admin_user) -> None:
    unnamed = make("13900139000")
    named = make("13800138000", "王伟")
    services.merge_customers(survivor=unnamed, loser=named, actor=admin_user, reason="同一人")
    unnamed.refresh_from_db()
    assert (unnamed.display_name, unnamed.name_is_generated) == ("王伟", False)


# --- Merges named by numbers, one creation --------------------------------------------------


def test_a_merge_names_both_customers_by_number_and_shows_one_creation(
    client, desk, admin_user
) -> None:
    survivor = make("13800138000", "杨勇")
    loser = make("13900139000", "杨勇")
    merge = services.merge_customers(
        survivor=survivor, loser=loser, actor=admin_user, reason="同一人：电话核实"
    )
    client.force_login(desk)
    response = client.get(reverse("customer-detail", args=[survivor.pk]))
    entries = response.context["events"].object_list
    types = [e.type.code for e in entries]
    assert types.count("customer.created") == 1 and types.count("customer.merged") == 1
    merged = next(e for e in entries if e.type.code == "customer.merged")
    assert merged.text == (f"客户 #{loser.pk}“杨勇”已合并到客户 #{survivor.pk}：同一人：电话核实")
    # The loser's creation is kept: on the tombstone and in the merge event's data.
    kept = TimelineEvent.objects.get(customer=loser, type="customer.created")
    event = TimelineEvent.objects.get(customer=survivor, type="customer.merged")
    assert event.data["loser_created"]["event"] == kept.pk
    assert event.data["survivor"] == survivor.pk and event.data["loser"] == loser.pk
    heading = client.get(reverse("merge-detail", args=[merge.pk])).content.decode()
    assert f"客户 #{loser.pk}“杨勇”已合并到客户 #{survivor.pk}“杨勇”" in heading
    desk.language = "en"
    desk.save(update_fields=["language"])
    entries = client.get(reverse("customer-detail", args=[survivor.pk])).context["events"]
    merged = next(e for e in entries.object_list if e.type.code == "customer.merged")
    assert merged.text == (
        f"Customer #{loser.pk} “杨勇” merged into customer #{survivor.pk}: 同一人：电话核实"
    )
    assert Merge.objects.get().summary["timeline_events"] == 0


def test_the_created_event_reads_the_source_by_name(client, desk) -> None:
    customer = make(PHONE, "王伟")
    event = TimelineEvent.objects.get(customer=customer, type="customer.created")
    assert event.data["source"] == "pos"
    client.force_login(desk)
    (entry,) = (
        client.get(reverse("customer-detail", args=[customer.pk])).context["events"].object_list
    )
    assert entry.text == "由 门店收银 创建客户"


# --- The job list -------------------------------------------------------------------------------


def _import_job(user, unit, n: int, **result: object) -> Job:
    return Job.objects.create(
        kind="crm.import_transactions",
        created_by=user,
        business_unit=unit,
        status=JobStatus.SUCCEEDED,
        progress=100,
        finished_at=WHEN,
        params={"filename": f"订单{n}.csv", "source": "pos", "dry_run": n % 2 == 0},
        result={
            "received": 100 + n,
            "created": 90,
            "rejected": n,
            "duplicates": 10,
            "errors": [{"line": k, "reason": "x" * 200} for k in range(200)],
            **result,
        },
    )


def test_the_job_list_tells_entries_apart_in_a_pinned_number_of_queries(
    client, unit_a, django_assert_num_queries
) -> None:
    boss = UserFactory(roles=[ADMIN], units=[unit_a], first_name="静", last_name="陈")
    _import_job(boss, unit_a, 1)
    Job.objects.create(
        kind="crm.housekeeping",
        status=JobStatus.FAILED,
        finished_at=WHEN,
        error="磁盘已满",
        created_by=boss,
    )
    client.force_login(boss)
    url = reverse("job-list")
    client.get(url)
    # session, user, permissions and roles (one query), the page count, the page (unit, user,
    # key joined)
    with django_assert_num_queries(4) as few:
        response = client.get(url)
    html = response.content.decode()
    assert "导入交易" in html and "订单1.csv" in html and "星辰汽车" in html
    assert boss.get_full_name() in html
    assert 'data-testid="job-with-errors"' in html and "磁盘已满" in html
    assert "门店收银" in html
    for n in range(2, 30):
        _import_job(boss, unit_a, n)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    (first, *_rest) = response.context["page"].object_list
    assert [value for _label, value in first.figure_items] == ["129", "90", "29"]
    assert [str(label) for label, _value in first.figure_items] == [
        "已读取行数",
        "已导入订单",
        "被拒绝行数",
    ]
    assert "errors" not in first.figures  # the list never reads the rows' errors
    assert first.is_dry_run is False and response.context["page"].object_list[1].is_dry_run


def test_customer_numbers_are_the_same_everywhere(desk) -> None:
    customer = make(PHONE, "王伟")
    assert customer.number == f"#{customer.pk}"
    assert Identity.objects.get(customer=customer).source == "pos"


@override_settings(LANGUAGE_CODE="en")
def test_purchase_help_is_translated(client, desk) -> None:
    make(PHONE, "王伟")
    desk.language = "en"
    desk.save(update_fields=["language"])
    client.force_login(desk)
    html = client.get(reverse("customer-list")).content.decode()
    assert "Completed purchases only" in html


def test_creation_events_written_before_the_source_was_kept_read_it_by_name(client, desk) -> None:
    customer = make(PHONE, "王伟")
    TimelineEvent.objects.filter(customer=customer).update(data={}, summary="由 pos 创建客户")
    services.record_event(
        customer=customer, type="customer.created", summary="Customer created from online_retail"
    )
    services.record_event(customer=customer, type="customer.created", summary="手工录入")
    client.force_login(desk)
    entries = client.get(reverse("customer-detail", args=[customer.pk])).context["events"]
    texts = sorted(e.text for e in entries.object_list if e.kind == "event")
    assert texts == sorted(
        ["由 门店收银 创建客户", "由 线上商城（Online Retail） 创建客户", "手工录入"]
    )
