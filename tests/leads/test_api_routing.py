"""The vendor API and routing: the intake endpoints' documentation says how a lead submitted
without a pool is routed (in English and in Chinese), and a pool the caller names, by name,
overrides the rules, one lead or a batch; an unknown pool is refused on its field."""

from __future__ import annotations

import uuid

import pytest

from leads.models import Lead, RoutingRule
from tests.conftest import key_client

pytestmark = pytest.mark.django_db


def intake_docs(client, language: str) -> tuple[str, str, str]:
    schema = client.get("/api/v1/schema/?format=json", HTTP_ACCEPT_LANGUAGE=language).json()
    one = schema["paths"]["/api/v1/leads/"]["post"]["description"]
    batch = schema["paths"]["/api/v1/leads/batch/"]["post"]["description"]
    ref = schema["paths"]["/api/v1/leads/"]["post"]["requestBody"]["content"]
    name = next(iter(ref.values()))["schema"]["$ref"].rsplit("/", 1)[-1]
    pool = schema["components"]["schemas"][name]["properties"]["pool"]["description"]
    return one, batch, pool


def test_the_intake_docs_say_how_a_lead_without_a_pool_is_routed(client):
    one, batch, pool = intake_docs(client, "en")
    for words in (
        "without `pool` goes where your unit's routing rules send it",
        "by priority, lowest number first, and the first that matches decides",
        "region, industry and source",
        "the rep gets it at once if they are still a rep of that pool and under their hold "
        "limit, otherwise it waits in the rule's pool",
        "A `pool` you name (an active pool of your unit, by name) overrides the rules",
    ):
        assert words in one
    assert "is routed as a single lead is" in batch
    assert "the routing rules are not applied" in pool
    one, batch, pool = intake_docs(client, "zh-hans")
    for words in ("分配规则", "按优先级依次尝试", "地区、行业和来源", "持有上限", "优先于分配规则"):
        assert words in one
    assert "优先于分配规则" in batch and "不再应用分配规则" in pool


@pytest.fixture
def vendor(unit_a, issue_key):
    _key, raw = issue_key(unit_a, ["leads:write"], name="线索供应商")
    return key_client(raw)


def post(client, path: str, body: dict):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def test_a_pool_named_by_the_vendor_overrides_the_rules(
    vendor, unit_a, rep_a, public_pool, team_pool
):
    RoutingRule.objects.create(
        business_unit=unit_a, name="杭州直派", regions=["杭州"], pool=team_pool, rep=rep_a
    )
    routed = post(
        vendor, "/api/v1/leads/", {"name": "甲", "phone": "13800138001", "region": "杭州"}
    )
    named = post(
        vendor,
        "/api/v1/leads/",
        {"name": "乙", "phone": "13800138002", "region": "杭州", "pool": " 公海 "},
    )
    assert routed.status_code == named.status_code == 201, named.content
    first = Lead.objects.get(pk=routed.json()["lead"]["id"])
    second = Lead.objects.get(pk=named.json()["lead"]["id"])
    assert (first.pool, first.owner) == (team_pool, rep_a)
    assert (second.pool, second.owner) == (public_pool, None)
    unknown = post(vendor, "/api/v1/leads/", {"name": "丙", "phone": "13800138003", "pool": "无"})
    assert unknown.status_code == 400
    assert list(unknown.json()["errors"]) == ["pool"]
    assert not Lead.objects.filter(name="丙").exists()


def test_each_batch_row_may_name_its_pool(vendor, unit_a, rep_a, public_pool, team_pool):
    RoutingRule.objects.create(
        business_unit=unit_a, name="杭州直派", regions=["杭州"], pool=team_pool, rep=rep_a
    )
    rows = [
        {"name": "甲", "phone": "13800138011", "region": "杭州"},
        {"name": "乙", "phone": "13800138012", "region": "杭州", "pool": "公海"},
        {"name": "丙", "phone": "13800138013", "region": "杭州", "pool": "没有这个池"},
        {"name": "丁", "phone": "13800138014", "pool": team_pool.name},
    ]
    answer = post(vendor, "/api/v1/leads/batch/", {"leads": rows})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["created"], body["errors"]) == (3, 1)
    assert body["rows"][2]["error"]["field"] == "pool"
    pools = dict(Lead.objects.values_list("name", "pool"))
    assert pools == {"甲": team_pool.pk, "乙": public_pool.pk, "丁": team_pool.pk}
    assert Lead.objects.get(name="甲").owner == rep_a
    assert Lead.objects.get(name="丁").owner is None  # named: not the rule's, no rep
