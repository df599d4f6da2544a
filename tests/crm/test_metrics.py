"""Customer metrics (crm/METRICS.md) on small hand-computed examples, a property test against a
plain-Python reference, the snapshots, the job, the settings and the admin's recompute."""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm import registry, services
from crm.jobs import run_job
from crm.models import (
    SEGMENT_GRID,
    Customer,
    CustomerMetrics,
    Job,
    MetricsSettings,
    MetricsSnapshot,
    Transaction,
)
from crm.models.metrics import DAYS_DEFINITION, HELP, PURCHASE_DEFINITION
from crm.roles import MARKETING, SALES_REP
from crm.services.metrics import snapshot_metrics
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 3, 31)
_numbers = itertools.count()


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def customer(name: str = "客户") -> Customer:
    return Customer.objects.create(display_name=name)


def buy(who, unit, day: date, amount, *, kind="purchase", status="completed", original=None):
    return Transaction.objects.create(
        business_unit=unit,
        customer=who,
        source="test",
        external_id=f"T{next(_numbers)}",
        channel="store",
        kind=kind,
        status=status,
        amount=Decimal(amount),
        occurred_at=at(day) if isinstance(day, date) else day,
        original=original,
    )


def days_ago(n: int) -> date:
    return AS_OF - timedelta(days=n)


def metrics(who: Customer) -> CustomerMetrics:
    return CustomerMetrics.objects.get(customer=who)


# --- Definitions ---------------------------------------------------------------------------


def test_every_definition_is_written_in_metrics_md() -> None:
    doc = (Path(__file__).resolve().parents[2] / "crm" / "METRICS.md").read_text()
    flat = " ".join(doc.replace("***", "").split())
    with translation.override("en"):
        for key, text in {**HELP, "purchase": PURCHASE_DEFINITION, "days": DAYS_DEFINITION}.items():
            assert " ".join(str(text).split()) in flat, key
    # The segment table of the doc is the code's.
    rows = re.findall(r"^\| \*\*(\d)\*\* \| (.+) \|$", doc, flags=re.M)
    labels = {"cannot lose them": "cannot_lose", "new customers": "new"}
    table = {
        int(r): tuple(labels.get(c, c.replace(" ", "_")) for c in cells.split(" | "))
        for r, cells in rows
    }
    assert table == {r: tuple(str(s) for s in row) for r, row in SEGMENT_GRID.items()}


# --- Hand-computed examples ----------------------------------------------------------------


def test_a_hand_computed_group_of_customers(unit_a, unit_b) -> None:
    # Five buyers (n = 5), so each rank is its own score: 1 + floor(5 (rank - 1) / 5) = rank.
    a, b, c, d, e = (customer(n) for n in "ABCDE")
    prospect = customer("P")
    for n in (400, 300, 200, 100):  # A: 4 purchases, last 100 days ago, gaps 100/100/100
        buy(a, unit_a, days_ago(n), 100)
    buy(b, unit_a, days_ago(10), 50)  # B: one purchase 10 days ago: new
    buy(c, unit_a, days_ago(60), 300)  # C: two units, last 5 days ago
    buy(c, unit_b, days_ago(5), 300)
    buy(d, unit_a, days_ago(700), 1000)  # D: one purchase long ago: lost
    for n in (50, 40, 30):  # E: three purchases, gaps 10 and 10, last 30 days ago
        buy(e, unit_a, days_ago(n), 20)
    buy(None, unit_a, days_ago(1), 999)  # a guest: counts nowhere

    run = services.recompute_metrics(as_of=AS_OF)
    assert (run.customers, run.with_purchase) == (Customer.objects.count(), 5)
    # Recency A 100, B 10, C 5, D 700, E 30: ranked from the longest, D=1 A=2 E=3 B=4 C=5.
    # Frequency A 4, B 1, C 2, D 1, E 3: B and D tie at rank 1, C 3, E 4, A 5.
    # Monetary A 400, B 50, C 600, D 1000, E 60: B 1, E 2, A 3, C 4, D 5.
    expected = {
        a: (100, 4, "400.00", 2, 5, 3, "cannot_lose", "at_risk"),
        b: (10, 1, "50.00", 4, 1, 1, "promising", "new"),
        c: (5, 2, "600.00", 5, 3, 4, "potential_loyalist", "active"),
        d: (700, 1, "1000.00", 1, 1, 5, "lost", "lost"),
        e: (30, 3, "60.00", 3, 4, 2, "loyal", "active"),
    }
    for who, (rec, freq, spend, r, f, m, segment, stage) in expected.items():
        got = metrics(who)
        assert (got.recency_days, got.frequency, got.monetary) == (rec, freq, Decimal(spend))
        assert (got.r_score, got.f_score, got.m_score) == (r, f, m), who.display_name
        assert (got.rfm_segment, got.lifecycle_stage) == (segment, stage), who.display_name
        assert got.lifetime_value == got.monetary
    # A: median gap 100, 100 > 2 × 100 is false; E: median 10, 30 > 20: overdue by 10 days.
    assert (metrics(a).median_gap_days, metrics(a).churn_risk) == (Decimal(100), False)
    assert (metrics(e).churn_risk, metrics(e).churn_overdue_days) == (True, Decimal(10))
    assert metrics(c).churn_risk is False  # two purchases: too few for a warning
    # C bought in both units; the forecast: 600 × 365 × 0.3 / max(60, 90) = 730.00.
    assert sorted(metrics(c).business_units) == sorted([unit_a.pk, unit_b.pk])
    assert metrics(c).business_unit_count == 2
    assert metrics(c).lifetime_value_forecast == Decimal("730.00")
    # D: 1000 × 365 × 0.3 / 700 = 156.428… → 156.43.
    assert metrics(d).lifetime_value_forecast == Decimal("156.43")
    p = metrics(prospect)
    assert (p.frequency, p.recency_days, p.r_score, p.rfm_segment) == (0, None, None, "no_purchase")
    assert (p.lifecycle_stage, p.lifetime_value_forecast) == ("prospect", Decimal(0))
    assert p.engagement_stage == "passer_by" and metrics(a).engagement_stage == "interactor"


def test_cancellations_count_in_net_spend_only(unit_a) -> None:
    who = customer()
    whole = buy(who, unit_a, days_ago(3), 80, status="refunded")
    buy(who, unit_a, days_ago(2), -80, kind="cancellation", original=whole)
    part = buy(who, unit_a, days_ago(40), 100, status="partly_refunded")
    buy(who, unit_a, days_ago(39), -30, kind="cancellation", original=part)
    buy(who, unit_a, days_ago(1), 0)  # a zero-amount order is not a purchase
    only_refund = customer("R")
    buy(only_refund, unit_a, days_ago(5), -10, kind="cancellation")

    services.recompute_metrics(as_of=AS_OF)
    got = metrics(who)
    # The order cancelled as a whole is not a purchase: the last purchase is 40 days ago.
    assert (got.frequency, got.recency_days, got.monetary) == (1, 40, Decimal(70))
    assert got.last_purchase_at == part.occurred_at
    refund = metrics(only_refund)
    assert (refund.frequency, refund.monetary, refund.lifecycle_stage) == (
        0,
        Decimal(-10),
        "prospect",
    )
    assert refund.lifetime_value_forecast == 0


def test_days_are_counted_in_the_group_time_zone_up_to_the_reference_date(unit_a) -> None:
    who = customer()
    # 23:30 in Shanghai on the reference date counts (recency 0); the next day does not.
    buy(who, unit_a, datetime.combine(AS_OF, time(23, 30), tzinfo=SHANGHAI), 10)
    buy(who, unit_a, datetime.combine(AS_OF + timedelta(days=1), time(0, 1), tzinfo=SHANGHAI), 10)
    services.recompute_metrics(as_of=AS_OF)
    assert (metrics(who).recency_days, metrics(who).frequency) == (0, 1)


@pytest.mark.parametrize(
    ("first", "last", "stage"),
    [
        (30, 30, "new"),
        (31, 31, "active"),
        (200, 90, "active"),
        (200, 91, "at_risk"),
        (200, 180, "at_risk"),
        (400, 181, "dormant"),
        (400, 365, "dormant"),
        (400, 366, "lost"),
    ],
)
def test_lifecycle_stage_boundaries(unit_a, first, last, stage) -> None:
    who = customer()
    buy(who, unit_a, days_ago(first), 10)
    buy(who, unit_a, days_ago(last), 10)
    services.recompute_metrics(as_of=AS_OF)
    assert metrics(who).lifecycle_stage == stage


def test_stage_thresholds_come_from_the_settings(unit_a) -> None:
    who = customer()
    buy(who, unit_a, days_ago(100), 10)
    config = MetricsSettings.current()
    config.active_days = 120
    config.save()
    services.recompute_metrics(as_of=AS_OF)
    assert metrics(who).lifecycle_stage == "active"


def test_settings_refuse_thresholds_that_do_not_grow() -> None:
    config = MetricsSettings.current()
    config.at_risk_days = 60
    with translation.override("en"), pytest.raises(ValidationError, match="must grow"):
        config.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        config.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        MetricsSettings.objects.create(pk=2)


def test_engagement_reads_the_event_types_the_registry_marks(unit_a) -> None:
    follower, talker, fan, referrer = (customer(n) for n in ("F", "T", "N", "R"))
    marked = [
        registry.EventType("test.followed", "followed", engagement="follow"),
        registry.EventType("test.messaged", "messaged", engagement="interaction"),
        registry.EventType("test.referred", "referred", engagement="referral"),
    ]
    for entry in marked:
        registry.register_event_type(entry)
    try:
        record = services.record_event
        record(customer=follower, type="test.followed", summary="f", business_unit=unit_a)
        # An interaction older than the window does not count; one inside does.
        record(
            customer=talker,
            type="test.messaged",
            summary="m",
            business_unit=unit_a,
            occurred_at=at(days_ago(400)),
        )
        for n in range(3):
            buy(fan, unit_a, days_ago(10 + n), 10)
            record(customer=fan, type="test.messaged", summary=f"m{n}", business_unit=unit_a)
        record(customer=referrer, type="test.referred", summary="r", business_unit=unit_a)
        record(customer=talker, type="tag.added", summary="not marked", business_unit=unit_a)
        services.recompute_metrics(as_of=timezoned_today())
        stages = {m.customer.display_name: m.engagement_stage for m in _all()}
        assert stages == {"F": "follower", "T": "passer_by", "N": "fan", "R": "fan"}
    finally:
        for entry in marked:
            registry._event_types.pop(entry.code)


def timezoned_today() -> date:
    from django.utils import timezone

    return timezone.localdate()


def _all() -> list[CustomerMetrics]:
    return list(CustomerMetrics.objects.select_related("customer"))


def test_a_recompute_replaces_the_rows_and_skips_merged_customers(unit_a) -> None:
    who, gone = customer("A"), customer("B")
    buy(who, unit_a, days_ago(5), 10)
    services.recompute_metrics(as_of=AS_OF)
    assert CustomerMetrics.objects.count() == 2
    Customer.objects.filter(pk=gone.pk).update(merged_into=who, merged_at=at(AS_OF))
    buy(who, unit_a, days_ago(1), 10)
    services.recompute_metrics(as_of=AS_OF)
    assert list(CustomerMetrics.objects.values_list("customer", "frequency")) == [(who.pk, 2)]


# --- A property test against a plain-Python reference ---------------------------------------

purchase = st.tuples(st.integers(0, 3), st.integers(0, 500), st.integers(1, 400))
# (kind, days ago, amount): kind 0 a cancellation, else a purchase; amounts from 1.


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(purchase, max_size=5), min_size=1, max_size=9))
def test_scores_segments_and_stages_equal_a_python_reference(unit_a, histories) -> None:
    """Each customer: a list of (kind, days ago, amount), kind 0 a cancellation; many ties."""
    CustomerMetrics.objects.all().delete()
    Transaction.objects.all().delete()
    Customer.objects.all().delete()
    people = []
    for history in histories:
        who = customer()
        people.append((who, history))
        for kind, ago, amount in history:
            if kind == 0:
                buy(who, unit_a, days_ago(ago), -amount, kind="cancellation")
            else:
                buy(who, unit_a, days_ago(ago), amount)
    services.recompute_metrics(as_of=AS_OF)

    facts = {}
    for who, history in people:
        bought = sorted(ago for kind, ago, _a in history if kind)
        spend = sum((a if k else -a) for k, _d, a in history)
        facts[who.pk] = (bought[0] if bought else None, len(bought), spend, bought)
    buyers = [pk for pk, f in facts.items() if f[1]]

    def score(pk: int, key, reverse: bool) -> int:
        values = [key(facts[b]) for b in buyers]
        mine = key(facts[pk])
        rank = 1 + sum(1 for v in values if (v > mine if reverse else v < mine))
        return 1 + (5 * (rank - 1)) // len(buyers)

    for who, _history in people:
        recency, freq, spend, bought = facts[who.pk]
        got = metrics(who)
        assert (got.recency_days, got.frequency, got.monetary) == (recency, freq, spend)
        if not freq:
            assert (got.r_score, got.rfm_segment, got.lifecycle_stage) == (
                None,
                "no_purchase",
                "prospect",
            )
            continue
        r = score(who.pk, lambda f: f[0], reverse=True)
        f = score(who.pk, lambda f: f[1], reverse=False)
        m = score(who.pk, lambda f: f[2], reverse=False)
        assert (got.r_score, got.f_score, got.m_score) == (r, f, m)
        assert got.rfm_segment == SEGMENT_GRID[r][f - 1]
        first = bought[-1]
        stage = (
            "new"
            if first <= 30
            else "active"
            if recency <= 90
            else "at_risk"
            if recency <= 180
            else "dormant"
            if recency <= 365
            else "lost"
        )
        assert got.lifecycle_stage == stage
        forecast = (Decimal(max(spend, 0)) * 365 * Decimal("0.3") / max(first, 90)).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )
        assert got.lifetime_value_forecast == forecast


# --- Snapshots -----------------------------------------------------------------------------


def test_a_month_snapshot_keeps_the_segments_as_they_were(unit_a) -> None:
    early, late = customer("E"), customer("L")
    buy(early, unit_a, date(2026, 1, 5), 100)
    buy(late, unit_a, date(2026, 3, 20), 100)
    services.snapshot_month(month=date(2026, 1, 1))
    services.recompute_metrics(as_of=AS_OF)
    january = MetricsSnapshot.objects.filter(month=date(2026, 1, 1))
    rows = {s.customer_id: s for s in january.filter(customer__isnull=False)}
    assert rows[early.pk].lifecycle_stage == "new" and rows[early.pk].as_of == date(2026, 1, 31)
    assert rows[late.pk].lifecycle_stage == "prospect"  # nothing bought by 31 January
    # Now (31 March): early is active, late is new; January's rows did not change.
    assert (metrics(early).lifecycle_stage, metrics(late).lifecycle_stage) == ("active", "new")
    aggregates = {
        (s.lifecycle_stage, s.rfm_segment): s.customers
        for s in january.filter(customer__isnull=True)
    }
    assert aggregates == {("new", rows[early.pk].rfm_segment): 1, ("prospect", "no_purchase"): 1}
    # Taking it again replaces the month, it does not add to it.
    services.snapshot_month(month=date(2026, 1, 15))
    assert january.count() == 4
    services.recompute_metrics(as_of=AS_OF)
    assert snapshot_metrics() == {"month": "2026-03-01", "customers": 2}


def test_the_recompute_job_reports_progress_and_back_fills_snapshots(
    unit_a, django_capture_on_commit_callbacks
) -> None:
    who = customer()
    buy(who, unit_a, date(2026, 1, 5), 100)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.start_job(
            kind="crm.recompute_metrics", params={"as_of": "2026-03-31", "snapshot_months": 2}
        )
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert job.result == {
        "as_of": "2026-03-31",
        "customers": 1,
        "with_purchase": 1,
        "churn_warnings": 0,
        "snapshots": 2,
    }
    months = set(MetricsSnapshot.objects.values_list("month", flat=True))
    assert months == {date(2026, 1, 1), date(2026, 2, 1)}
    assert metrics(who).as_of == date(2026, 3, 31)


def test_the_job_refuses_a_reference_date_that_is_not_a_date() -> None:
    job = Job.objects.create(kind="crm.recompute_metrics", params={"as_of": "31/03/2026"})
    assert run_job(job.pk) == "failed"
    job.refresh_from_db()
    assert "YYYY-MM-DD" in job.error


def test_the_monthly_task_snapshots_the_month_before(
    unit_a, django_capture_on_commit_callbacks
) -> None:
    from crm import tasks

    who = customer()
    buy(who, unit_a, days_ago(40), 100)
    config = MetricsSettings.current()
    config.reference_date = AS_OF
    config.save()
    with django_capture_on_commit_callbacks(execute=True):
        job_id = tasks.snapshot_metrics()
    job = Job.objects.get(pk=job_id)
    assert job.status == "succeeded", job.error
    assert set(MetricsSnapshot.objects.values_list("month", flat=True)) == {date(2026, 2, 1)}
    assert metrics(who).as_of == AS_OF
    with django_capture_on_commit_callbacks(execute=True):
        job_id = tasks.recompute_metrics()
    assert Job.objects.get(pk=job_id).status == "succeeded"


def test_beat_runs_the_recompute_nightly_and_the_snapshot_monthly() -> None:
    from django.conf import settings as django_settings

    beat = django_settings.CELERY_BEAT_SCHEDULE
    nightly = beat["recompute-customer-metrics"]
    assert nightly["task"] == "crm.tasks.recompute_metrics"
    assert nightly["schedule"].hour == {2} and nightly["schedule"].minute == {0}
    monthly = beat["metrics-monthly-snapshot"]["schedule"]
    assert monthly.day_of_month == {1}


# --- The admin's recompute -----------------------------------------------------------------


def test_marketing_recomputes_from_the_admin_after_confirming(
    client, unit_a, django_capture_on_commit_callbacks
) -> None:
    who = customer()
    buy(who, unit_a, days_ago(5), 10)
    user = UserFactory(roles=[MARKETING], units=[unit_a], is_staff=True)
    client.force_login(user)
    url = reverse("admin:crm_customermetrics_recompute")
    changelist = client.get(reverse("admin:crm_customermetrics_changelist"))
    assert 'data-testid="metrics-recompute"' in changelist.content.decode()
    confirm = client.get(url)
    assert 'data-testid="confirm-question"' in confirm.content.decode()
    assert not CustomerMetrics.objects.exists()  # nothing happens before confirming
    bad = client.post(url, {"as_of": "not a date", "snapshot_months": "0"})
    assert bad.status_code == 200 and bad.context["form"].errors["as_of"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"as_of": AS_OF.isoformat(), "snapshot_months": "0"})
    job = Job.objects.get(kind="crm.recompute_metrics")
    assert response.status_code == 302 and response["Location"].endswith(f"/jobs/{job.pk}/")
    assert metrics(who).recency_days == 5


def test_a_rep_may_not_recompute(client, unit_a) -> None:
    user = UserFactory(roles=[SALES_REP], units=[unit_a], is_staff=True)
    client.force_login(user)
    response = client.post(reverse("admin:crm_customermetrics_recompute"), {})
    assert response.status_code in (302, 403)
    assert not Job.objects.exists()
