"""Segments as of a past month (crm/METRICS.md, "Segments as of a past month"): a segment
evaluated as it was on 1 March, after the data changed, equals the members it had then
(frozen that day); fields without history are refused, naming them; the SQL is
parameterized; the segment page's month picker runs a fixed number of queries."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm import selectors, services
from crm.models import Customer, MetricsSnapshot, Tag, TagCategory, Transaction
from crm.roles import MARKETING, SALES_REP
from crm.rules import RuleInvalid, matching_ids_sql
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
FEBRUARY = date(2026, 2, 1)  # its snapshot: as of 28 February, the state on 1 March
MARCH_1 = datetime(2026, 3, 1, tzinfo=SHANGHAI)
TODAY = date(2026, 4, 15)
_numbers = itertools.count()

ACTIVE = {"field": "metrics.lifecycle_stage", "op": "in", "value": ["active"]}
AT_RISK = {"field": "metrics.lifecycle_stage", "op": "in", "value": ["at_risk"]}
BOUGHT_30 = {"field": "purchases.count", "op": "gte", "value": 1, "params": {"days": 30}}
RULES = {
    "active": ACTIVE,
    "at risk and spent": {
        "all": [AT_RISK, {"field": "purchases.spend", "op": "gte", "value": "100"}]
    },
    "bought in the last 30 days": BOUGHT_30,
    "in A, never in B": None,  # built with the units
    "scored": {"field": "metrics.r_score", "op": "gte", "value": 3},
    "no purchase yet": {"field": "purchases.last", "op": "is_empty"},
}


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def person(name: str, created: date) -> Customer:
    return Customer.objects.create(display_name=name, created_at=at(created, 9))


def buy(who: Customer, unit, day: date, amount: str = "100.00") -> None:
    Transaction.objects.create(
        business_unit=unit,
        customer=who,
        source="test",
        external_id=f"A{next(_numbers)}",
        channel="store",
        amount=Decimal(amount),
        occurred_at=at(day),
    )


@pytest.fixture
def marketer(unit_a):
    return UserFactory(username="mkt-asof", roles=[MARKETING], units=[unit_a])


def ids(customers) -> set[int]:
    return {c.pk for c in customers}


@pytest.fixture
def history(unit_a, unit_b, marketer):
    """Three customers by 1 March, the February snapshot, segments frozen on 1 March; then
    the data changes (purchases, a new customer, a merge) and the metrics are recomputed as
    of today."""
    rules = dict(RULES)
    rules["in A, never in B"] = {
        "all": [
            {"field": "purchases.units", "op": "has_any", "value": [unit_a.pk]},
            {"field": "purchases.units", "op": "has_none", "value": [unit_b.pk]},
        ]
    }
    ann = person("安", date(2025, 12, 1))
    bo = person("波", date(2025, 9, 1))
    cai = person("蔡", date(2026, 1, 10))
    buy(ann, unit_a, date(2026, 1, 2))  # 28 Feb: active (57 days); today at risk
    buy(ann, unit_a, date(2025, 12, 20), "300.00")
    buy(bo, unit_a, date(2025, 10, 1), "250.00")  # 28 Feb: at risk (150 days)
    buy(cai, unit_b, date(2026, 2, 10))  # 28 Feb: new, and bought in the 30 days

    with time_machine.travel(MARCH_1 + timedelta(minutes=90), tick=False):
        services.snapshot_month(month=FEBRUARY)  # the metrics as of 28 February, kept
        segments = {}
        for name, rule in rules.items():
            segment = services.create_segment(name=name, rule=rule, owner=marketer)
            services.snapshot_segment(segment=segment, now=MARCH_1)  # the members then
            segments[name] = segment

    # March and April
    buy(bo, unit_a, date(2026, 3, 15), "80.00")  # back: active
    buy(bo, unit_b, date(2026, 3, 16), "20.00")  # and now in B too
    dai = person("戴", date(2026, 3, 10))  # a new customer
    buy(dai, unit_a, date(2026, 3, 20))
    survivor = person("蔡二", date(2026, 3, 2))
    services.merge_customers(survivor=survivor, loser=cai, actor=None, reason="同一人")
    with time_machine.travel(at(TODAY, 8), tick=False):  # the tests run today too
        services.recompute_metrics(as_of=TODAY)
        yield {
            "segments": segments,
            "ann": ann,
            "bo": bo,
            "cai": cai,
            "dai": dai,
            "survivor": survivor,
        }


def test_a_segment_as_of_a_past_month_equals_the_members_it_had_then(history):
    february = selectors.metrics_snapshot_month(FEBRUARY)
    assert february.as_of == date(2026, 2, 28) and february.day == date(2026, 3, 1)
    assert february.past.at == MARCH_1
    differs = 0
    for name, segment in history["segments"].items():
        then = selectors.latest_snapshot(segment)
        frozen = ids(selectors.snapshot_customers(then))
        assert ids(selectors.segment_members_as_of(segment, FEBRUARY)) == frozen, name
        assert selectors.segment_count_as_of(segment, february) == then.member_count, name
        differs += ids(selectors.rule_customers(segment.rule)) != frozen
    assert differs >= 4  # the data did change since


def test_the_stage_moves_and_the_new_and_merged_customers(history):
    segments = history["segments"]
    ann, bo, dai, survivor = history["ann"], history["bo"], history["dai"], history["survivor"]
    active = segments["active"]
    assert ids(selectors.segment_members_as_of(active, FEBRUARY)) == {ann.pk}
    # 蔡 was new then; merged into 蔡二, whose first purchase (蔡's) is 64 days old today
    assert ids(selectors.rule_customers(active.rule)) == {bo.pk, survivor.pk}
    assert selectors.segment_changes_since(active, FEBRUARY) == selectors.SegmentChanges(
        entered=2, left=1
    )
    # 戴 was added after 1 March: never a member then
    bought = segments["bought in the last 30 days"]
    assert ids(selectors.segment_members_as_of(bought, FEBRUARY)) == {survivor.pk}  # 蔡, merged
    assert dai.pk in ids(selectors.rule_customers(bought.rule))
    never = segments["no purchase yet"]
    assert ids(selectors.segment_members_as_of(never, FEBRUARY)) == set()
    assert selectors.segment_count_as_of(segments["in A, never in B"], FEBRUARY) == 2  # 安 and 波


def test_a_field_without_history_is_refused_naming_it(history):
    tag = Tag.objects.create(category=TagCategory.objects.create(name="价值"), name="高价值")
    rule = {
        "all": [
            ACTIVE,
            {"field": "customer.tags", "op": "has_any", "value": [tag.pk]},
            {"field": "customer.region", "op": "eq", "value": "上海"},
            {"field": "metrics.recency_days", "op": "gt", "value": 3},
            {"field": "metrics.frequency", "op": "gt", "value": 1},
        ]
    }
    with translation.override("en"), pytest.raises(RuleInvalid) as refused:
        selectors.count_rule_as_of(rule, FEBRUARY)
    errors = {e.path: e.message for e in refused.value.errors}
    assert set(errors) == {"all[1].field", "all[2].field", "all[3].field", "all[4].field"}
    assert "“Tags” has no history: it cannot be evaluated as of a past month." in errors.values()
    assert "Region" in errors["all[2].field"]
    # a metrics field the snapshot keeps, but not per unit
    unit_stage = {**ACTIVE, "params": {"unit": history["bo"].transactions.first().business_unit_id}}
    with translation.override("en"), pytest.raises(RuleInvalid) as per_unit:
        selectors.count_rule_as_of(unit_stage, FEBRUARY)
    assert [e.path for e in per_unit.value.errors] == ["params.unit"]
    assert "has no history" in per_unit.value.errors[0].message
    # an app's registered field has no history unless it says so
    with pytest.raises(RuleInvalid) as app_field:
        selectors.count_rule_as_of({"field": "member.status", "op": "is_empty"}, FEBRUARY)
    assert app_field.value.errors[0].path == "field"


def test_a_month_without_a_snapshot_is_refused_with_a_clear_message(history):
    with translation.override("en"), pytest.raises(selectors.NoSnapshot) as missing:
        selectors.segment_count_as_of(history["segments"]["active"], date(2026, 1, 1))
    assert "There is no metrics snapshot of 2026-01" in missing.value.message
    with pytest.raises(selectors.NoSnapshot):
        selectors.metrics_snapshot_month("not a month")
    assert [m.month for m in selectors.metrics_snapshot_months()] == [FEBRUARY]


def test_the_sql_as_of_a_past_month_is_parameterized(history):
    hostile = "'); DROP TABLE crm_customer; --"
    rule = {
        "all": [
            {"field": "metrics.rfm_segment", "op": "in", "value": [hostile]},
            {"field": "purchases.spend", "op": "gte", "value": "1", "params": {"days": 7}},
        ]
    }
    with pytest.raises(RuleInvalid):  # not a segment: refused before any SQL
        selectors.count_rule_as_of(rule, FEBRUARY)
    rule["all"][0] = {"field": "metrics.monetary", "op": "gte", "value": "100"}
    past = selectors.metrics_snapshot_month(FEBRUARY).past
    sql, params = matching_ids_sql(rule, past=past)
    assert "crm_metricssnapshot" in sql and "2026" not in sql and "100" not in sql
    assert params[:2] == [FEBRUARY, MARCH_1] and MARCH_1 - timedelta(days=7) in params


def test_the_month_picker_on_the_segment_page(client, marketer, history, django_assert_num_queries):
    segment = history["segments"]["active"]
    client.force_login(marketer)
    detail = client.get(reverse("segment-detail", args=[segment.pk])).content.decode()
    url = reverse("segment-as-of", args=[segment.pk])
    assert f'hx-get="{url}"' in detail and 'value="2026-02-01"' in detail
    client.get(url, {"month": "2026-02-01"})  # warm the session and permission caches
    with django_assert_num_queries(11):  # fixed: not per row
        page = client.get(url, {"month": "2026-02-01"}, HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert page.context["state"] == "count" and page.context["count"] == 1
    assert "安" in html and "波" not in html
    assert page.context["changes"] == selectors.SegmentChanges(entered=2, left=1)
    missing = client.get(url, {"month": "2026-01-01"}).context
    assert missing["state"] == "missing" and "2026-01" in missing["message"]
    refused = services.create_segment(
        name="有标签", rule={"field": "customer.tags", "op": "is_not_empty"}, owner=marketer
    )
    errors = client.get(reverse("segment-as-of", args=[refused.pk]), {"month": "2026-02-01"})
    assert errors.context["state"] == "errors"
    assert 'data-rule-error-path="field"' in errors.content.decode()


def test_a_sales_rep_may_not_see_a_segment_as_of_a_past_month(client, history, unit_a):
    segment = history["segments"]["active"]
    client.force_login(UserFactory(roles=[SALES_REP], units=[unit_a]))
    url = reverse("segment-as-of", args=[segment.pk])
    assert client.get(url, {"month": "2026-02-01"}).status_code == 403


def test_the_picker_says_when_there_is_no_snapshot_yet(client, marketer):
    segment = services.create_segment(name="活跃", rule=ACTIVE, owner=marketer)
    client.force_login(marketer)
    html = client.get(reverse("segment-detail", args=[segment.pk])).content.decode()
    assert 'data-testid="as-of-none"' in html


# --- Property: whatever the purchases, the segment as of February equals the one frozen on
# 1 March, however the data changes afterwards. ---------------------------------------------

_days = st.integers(min_value=-400, max_value=-1)  # days before 1 March
_rules = st.sampled_from(
    [
        ACTIVE,
        AT_RISK,
        BOUGHT_30,
        {"field": "metrics.rfm_segment", "op": "in", "value": ["champions", "new", "lost"]},
        {"field": "metrics.f_score", "op": "gte", "value": 3},
        {"field": "metrics.lifetime_value", "op": "between", "value": ["50", "400"]},
        {"field": "metrics.churn_risk", "op": "is_false"},
        {"field": "purchases.last", "op": "within_last_days", "value": 60},
        {"any": [AT_RISK, {"field": "purchases.count", "op": "gte", "value": 3}]},
    ]
)


@settings(
    max_examples=10,  # each recomputes the metrics (a table rebuild)
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    before=st.lists(
        st.lists(st.tuples(_days, st.integers(1, 500)), max_size=4), min_size=1, max_size=5
    ),
    after=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 40)), max_size=5),
    rule=_rules,
)
def test_as_of_february_equals_frozen_then_whatever_happens_later(
    unit_a, marketer, before, after, rule
):
    Transaction.objects.all().delete()
    MetricsSnapshot.objects.all().delete()
    Customer.objects.all().delete()
    people = []
    for n, purchases in enumerate(before):
        who = person(f"客{n}", date(2025, 1, 1))
        people.append(who)
        for offset, amount in purchases:
            buy(who, unit_a, MARCH_1.date() + timedelta(days=offset), str(amount))
    with time_machine.travel(MARCH_1 + timedelta(minutes=90), tick=False):
        services.snapshot_month(month=FEBRUARY)
    segment = services.create_segment(name=f"段{next(_numbers)}", rule=rule, owner=marketer)
    then = services.snapshot_segment(segment=segment, now=MARCH_1)
    for index, offset in after:
        who = people[index] if index < len(people) else person("新", date(2026, 3, 5))
        buy(who, unit_a, MARCH_1.date() + timedelta(days=offset), "999.00")
    # (today's recompute changes nothing the evaluation as of February reads: see the fixture)
    assert ids(selectors.segment_members_as_of(segment, FEBRUARY)) == ids(
        selectors.snapshot_customers(then)
    )


def test_the_dashboard_counts_who_moved_from_active_to_at_risk_since_the_snapshot(history):
    """The stage transitions (the dashboard's Sankey) read the same snapshot: 安 went from
    active to at risk, 波 came back; 蔡 (merged) and 戴 (new) moved nowhere."""
    from crm.selectors.metrics import metrics_dashboard

    dashboard = metrics_dashboard()
    assert dashboard.transitions_month == FEBRUARY
    moves = {(t["from"], t["to"]): t["count"] for t in dashboard.transitions}
    assert moves == {("active", "at_risk"): 1, ("at_risk", "active"): 1}
