"""Routing rules on intake: the first active matching rule of the unit (lowest priority number
first) sends a new lead to its pool, and to its rep within the rep's hold limit; no match, a
named pool, a duplicate keep today's behaviour; the rules are validated; the form, import and
API paths all route; the rules cost one query per intake (per batch for the API and imports)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from crm.imports.record_jobs import get_importer, run_record_import
from crm.models import Notification, TimelineEvent
from crm.services import IdentityInput, resolve_customer
from leads.models import Lead, LeadEvent, LeadPool, LeadPoolMember, RoutingRule
from leads.services import LeadInput, intake_lead
from tests.conftest import key_client
from tests.factories import BusinessUnitFactory, UserFactory
from tests.leads.conftest import next_phone

pytestmark = pytest.mark.django_db


def rule(unit: Any, pool: LeadPool, name: str, **kwargs: Any) -> RoutingRule:
    """A rule as the admin saves it: validated first."""
    made = RoutingRule(business_unit=unit, pool=pool, name=name, **kwargs)
    made.full_clean()
    made.save()
    return made


def take(unit: Any, **kwargs: Any) -> Lead:
    kwargs.setdefault("name", "韩梅梅")
    kwargs.setdefault("phone", next_phone())
    pool = kwargs.pop("pool", None)
    return intake_lead(business_unit=unit, data=LeadInput(**kwargs), pool=pool).lead


def rule_queries(captured: CaptureQueriesContext) -> int:
    return sum('FROM "leads_routingrule"' in q["sql"] for q in captured.captured_queries)


@pytest.fixture
def east(unit_a, rep_a, rep_b) -> LeadPool:
    """A second team pool, with both reps."""
    pool = LeadPool.objects.create(business_unit=unit_a, name="华东二组", hold_limit=5)
    LeadPoolMember.objects.create(pool=pool, user=rep_a)
    LeadPoolMember.objects.create(pool=pool, user=rep_b)
    return pool


def test_the_first_active_matching_rule_by_priority_decides_the_pool(
    unit_a, public_pool, team_pool, east
):
    rule(unit_a, team_pool, "上海", priority=20, regions=["上海"])
    rule(unit_a, east, "上海车展", priority=10, regions=["上海"], sources=["trade_show"])
    rule(unit_a, east, "停用", priority=1, regions=["上海", "杭州"], is_active=False)
    assert take(unit_a, region="上海", source="trade_show").pool == east
    assert take(unit_a, region="上海", source="web_form").pool == team_pool
    # The inactive rule would match; nothing else does: the public pool, as without rules.
    hangzhou = take(unit_a, region="杭州")
    assert hangzhou.pool == public_pool and hangzhou.owner is None
    created = LeadEvent.objects.get(lead=hangzhou, kind="created")
    assert created.reason == "" and "routing_rule" not in created.data


def test_conditions_ignore_case_and_spaces_and_a_blank_condition_matches_any(
    unit_a, public_pool, team_pool, east
):
    rule(unit_a, team_pool, "汽车行业", priority=1, industries=["Auto", " car  dealers "])
    rule(unit_a, east, "华东", priority=2, regions=["Shanghai", "杭州"])
    assert take(unit_a, industry="AUTO", region="北京").pool == team_pool
    assert take(unit_a, industry="Car Dealers", source="ad").pool == team_pool
    assert take(unit_a, region="  shanghai ", industry="retail").pool == east
    assert take(unit_a, region="杭州").pool == east
    assert take(unit_a, region="苏州").pool == public_pool
    assert take(unit_a).pool == public_pool  # no region, no industry: neither rule


def test_a_rule_naming_a_rep_gives_the_lead_to_the_rep_with_history_timeline_and_notice(
    client, unit_a, rep_a, team_pool
):
    routing = rule(unit_a, team_pool, "杭州汽车之家", regions=["杭州"], rep=rep_a)
    customer = resolve_customer(
        identities=[IdentityInput("mobile", "+8613800138000")],
        attributes={"display_name": "韩梅梅"},
        source="demo",
    ).customer
    result = intake_lead(
        business_unit=unit_a, data=LeadInput(name="韩梅梅", phone="13800138000", region="杭州")
    )
    lead = result.lead
    assert result.outcome == "existing_customer" and lead.customer == customer
    assert (lead.pool, lead.owner, lead.status) == (team_pool, rep_a, "assigned")
    assert lead.claimed_at is not None
    created, assigned = LeadEvent.objects.filter(lead=lead).order_by("pk")
    assert (created.kind, created.reason, created.note) == ("created", "routing_rule", routing.name)
    assert created.data["routing_rule"] == routing.pk and created.to_pool == team_pool
    assert (assigned.kind, assigned.reason, assigned.note) == (
        "assigned",
        "routing_rule",
        "杭州汽车之家",
    )
    assert (assigned.to_owner, assigned.to_pool, assigned.actor) == (rep_a, team_pool, None)
    event = TimelineEvent.objects.get(customer=customer, type="lead.assigned")
    assert "杭州汽车之家" in event.summary and event.data["routing_rule"] == routing.pk
    assert Notification.objects.filter(recipient=rep_a, kind="leads.assigned").count() == 1
    # The lead's history says why, in the reader's language.
    client.force_login(rep_a)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert f"{gettext('routing rule')} · 杭州汽车之家" in page


def test_a_full_rep_leaves_the_lead_in_the_rules_pool_where_its_strategy_applies(
    unit_a, rep_a, rep_b, team_pool, east, make_lead
):
    for _n in range(5):  # rep_a holds the hold limit (5)
        make_lead(pool=team_pool, owner=rep_a, status="assigned", claimed_at=timezone.now())
    rule(unit_a, team_pool, "杭州", regions=["杭州"], rep=rep_a, priority=1)
    rule(unit_a, east, "苏州", regions=["苏州"], rep=rep_a, priority=2)
    waiting = take(unit_a, region="杭州")  # the team pool is claim-only: the lead waits
    assert (waiting.pool, waiting.owner, waiting.status) == (team_pool, None, "new")
    assert not LeadEvent.objects.filter(lead=waiting, kind="assigned").exists()
    assert LeadEvent.objects.get(lead=waiting, kind="created").note == "杭州"
    east.strategy = "round_robin"
    east.save()
    other = take(unit_a, region="苏州")  # the pool's round-robin finds rep_b with room
    assert (other.pool, other.owner) == (east, rep_b)
    assert LeadEvent.objects.get(lead=other, kind="assigned").reason == "round_robin"
    assert Lead.objects.filter(owner=rep_a).count() == 5


def test_a_rep_no_longer_in_the_pool_is_skipped_and_a_quarantined_lead_is_not_assigned(
    unit_a, rep_a, team_pool, blacklist
):
    rule(unit_a, team_pool, "杭州", regions=["杭州"], rep=rep_a)
    bad = resolve_customer(
        identities=[IdentityInput("mobile", "+8613700137000")],
        attributes={"display_name": "失信人"},
        source="demo",
    ).customer
    blacklist(bad)
    quarantined = intake_lead(
        business_unit=unit_a, data=LeadInput(name="失信人", phone="13700137000", region="杭州")
    )
    assert quarantined.outcome == "quarantined"
    assert (quarantined.lead.pool, quarantined.lead.owner) == (team_pool, None)
    LeadPoolMember.objects.filter(pool=team_pool, user=rep_a).delete()
    lead = take(unit_a, region="杭州")
    assert (lead.pool, lead.owner) == (team_pool, None)


def test_a_named_pool_overrides_the_rules_and_a_duplicate_is_not_routed(
    unit_a, rep_a, public_pool, team_pool, east
):
    rule(unit_a, team_pool, "杭州", regions=["杭州"], rep=rep_a)
    named = take(unit_a, region="杭州", pool=east)
    assert (named.pool, named.owner) == (east, None)
    again = intake_lead(
        business_unit=unit_a, data=LeadInput(name="韩梅梅", phone=named.phone, region="杭州")
    )
    assert (again.outcome, again.lead.pk, again.lead.owner) == ("duplicate", named.pk, None)
    assert Lead.objects.count() == 1


@translation.override("en")
def test_the_rule_is_validated_with_a_message_on_its_field(unit_a, unit_b, rep_a, team_pool):
    other_pool = LeadPool.objects.create(business_unit=unit_b, name="物业组")
    with pytest.raises(ValidationError) as wrong_unit:
        rule(unit_a, other_pool, "别家的池", regions=["上海"])
    assert "business unit" in wrong_unit.value.message_dict["pool"][0]
    team_pool.is_active = False
    team_pool.save()
    with pytest.raises(ValidationError) as inactive:
        rule(unit_a, team_pool, "停用的池", regions=["上海"])
    assert list(inactive.value.message_dict) == ["pool"]
    team_pool.is_active = True
    team_pool.save()
    stranger = UserFactory(username="stranger", units=[unit_a])
    manager = LeadPoolMember.objects.get(pool=team_pool, role="manager").user
    for user in (stranger, manager):
        with pytest.raises(ValidationError) as not_a_rep:
            rule(unit_a, team_pool, "不是组员", regions=["上海"], rep=user)
        assert "rep" in not_a_rep.value.message_dict["rep"][0]
    rep_a.is_active = False
    rep_a.save()
    with pytest.raises(ValidationError) as inactive_rep:
        rule(unit_a, team_pool, "离职", regions=["上海"], rep=rep_a)
    assert list(inactive_rep.value.message_dict) == ["rep"]
    # No condition at all would take every lead of the unit: refused (here and in the database).
    with pytest.raises(ValidationError) as catch_all:
        rule(unit_a, team_pool, "全部")
    assert "at least one condition" in str(catch_all.value)
    with pytest.raises(ValidationError) as bad_source:
        rule(unit_a, team_pool, "来源", sources=["telepathy"])
    assert list(bad_source.value.message_dict) == ["sources"]
    # The lists are tidied: trimmed, blanks dropped, each value once whatever its case.
    tidy = rule(unit_a, team_pool, "华东", regions=[" 上海 ", "", "Shanghai", "SHANGHAI"])
    assert tidy.regions == ["上海", "Shanghai"]


def test_a_rule_written_around_validation_to_another_units_pool_is_ignored(
    unit_a, unit_b, public_pool
):
    other_pool = LeadPool.objects.create(business_unit=unit_b, name="物业组")
    RoutingRule.objects.create(business_unit=unit_a, pool=other_pool, name="错", regions=["上海"])
    assert take(unit_a, region="上海").pool == public_pool


def test_one_intake_reads_the_rules_in_one_query(
    unit_a, rep_a, public_pool, team_pool, django_assert_num_queries
):
    take(unit_a, region="北京")  # warm: the content types, the public pool's creation
    # Without a matching rule: the rules, the public pool, the duplicate check (a savepoint
    # around it), the customer match, the lead, its history, the pool's strategy (claim).
    with django_assert_num_queries(10):
        take(unit_a, region="北京")
    rule(unit_a, team_pool, "杭州", regions=["杭州"])
    # The rule names the pool: no public-pool lookup; the same count.
    with django_assert_num_queries(9):
        take(unit_a, region="杭州")
    RoutingRule.objects.update(rep=rep_a)
    take(unit_a, region="杭州")  # warm: the rep's lock row is made on first use
    # To the rep, 8 more: the rep's lock row, roles and role rules, the hold count, the
    # lead's update, its history, the notice (the recipient, the insert).
    with django_assert_num_queries(17):
        lead = take(unit_a, region="杭州")
    assert lead.owner == rep_a


def test_the_api_routes_a_single_lead_and_a_batch_reads_the_rules_once(
    unit_a, rep_a, team_pool, issue_key
):
    _key, raw = issue_key(unit_a, ["leads:write"], name="线索供应商")
    vendor = key_client(raw)
    rule(unit_a, team_pool, "合作方杭州", regions=["杭州"], sources=["partner_api"], rep=rep_a)
    one = vendor.post(
        "/api/v1/leads/",
        {"name": "韩梅梅", "phone": "13800138000", "region": "杭州"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert one.status_code == 201, one.content
    assert Lead.objects.get(pk=one.json()["lead"]["id"]).owner == rep_a
    rows = [{"name": f"客户{n}", "phone": f"1390000000{n}", "region": "杭州"} for n in range(3)]
    with CaptureQueriesContext(connection) as captured:
        batch = vendor.post(
            "/api/v1/leads/batch/",
            {"leads": rows},
            format="json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
    assert batch.status_code == 200, batch.content
    assert batch.json()["created"] == 3
    assert rule_queries(captured) == 1
    assert Lead.objects.filter(owner=rep_a, pool=team_pool).count() == 4


def test_an_import_routes_rows_without_a_pool_and_reads_the_rules_once(
    unit_a, manager, public_pool, team_pool, east
):
    rule(unit_a, east, "展会", sources=["trade_show"])
    header = "姓名,手机,地区,来源,线索池"
    lines = [
        "韩梅梅,13800138000,上海,展会,",
        "李雷,13900139000,杭州,trade_show,",
        "王五,13700137000,杭州,trade_show,华东组",  # a named pool wins
        "赵六,13600136000,杭州,referral,",
    ]
    data = ("\r\n".join([header, *lines]) + "\r\n").encode("utf-8-sig")
    with CaptureQueriesContext(connection) as captured:
        result = run_record_import(
            importer=get_importer("leads"),
            business_unit=unit_a,
            user=manager,
            filename="leads.csv",
            dry_run=False,
            data=data,
        )
    assert result["created"] == 4, result
    assert rule_queries(captured) == 1
    pools = dict(Lead.objects.values_list("phone", "pool__name"))
    assert pools == {
        "+8613800138000": "华东二组",
        "+8613900139000": "华东二组",
        "+8613700137000": "华东组",
        "+8613600136000": "公海",
    }


def test_the_rules_of_another_unit_do_not_apply(unit_a, rep_a, public_pool, team_pool):
    rule(unit_a, team_pool, "杭州", regions=["杭州"])
    unit_c = BusinessUnitFactory(code="MART", name="星辰超市")
    lead = take(unit_c, region="杭州")
    assert lead.pool.business_unit == unit_c and lead.pool.kind == "public"


def test_a_rule_whose_pool_was_closed_since_is_skipped_for_the_next_one(
    unit_a, public_pool, team_pool, east
):
    rule(unit_a, team_pool, "杭州一", regions=["杭州"], priority=1)
    rule(unit_a, east, "杭州二", regions=["杭州"], priority=2)
    LeadPool.objects.filter(pk=team_pool.pk).update(is_active=False)
    assert take(unit_a, region="杭州").pool == east
    RoutingRule.objects.filter(pool=east).update(is_active=False)
    assert take(unit_a, region="杭州").pool == public_pool
