"""Searching leads by a fragment of the name or company (the pool, my leads, the global
search): two Chinese characters, three or more, Latin letters in any case, and the indexes
that keep it fast at a million leads (the bench's ``leads_pool_list`` / ``leads_my_leads``
search inputs measure it)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from crm.registry import search_providers
from leads import services
from leads.models import Lead, LeadKind
from leads.selectors import search_condition

pytestmark = pytest.mark.django_db

POOL = reverse("leads:pool")
MINE = reverse("leads:mine")


def names(response, testid: str = "lead-row") -> int:
    return response.content.decode().count(f'data-testid="{testid}"')


@pytest.fixture
def leads(make_lead):
    person = make_lead(name="王伟华")
    company = make_lead(kind=LeadKind.COMPANY, name="李娜", company="上海华伟贸易有限公司")
    latin = make_lead(name="Zhang Wei", company="Acme Trading")
    return person, company, latin


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("王伟", {"person"}),  # two characters: the grams
        ("伟华", {"person"}),
        ("华伟", {"company"}),  # inside the company's name
        ("贸易", {"company"}),
        ("李娜", {"company"}),  # the company lead's contact
        ("伟", {"person", "company"}),  # one character
        ("王伟华", {"person"}),  # three: the trigram index
        ("华伟贸易", {"company"}),
        ("zhang w", {"latin"}),  # any case, spaces kept
        ("TRADING", {"latin"}),
        ("AC", {"latin"}),
        ("娜上", set()),  # never across the contact's and the company's names
        ("王 伟", {"person"}),  # two characters typed with a space
        ("不存在", set()),
    ],
)
def test_a_fragment_of_the_name_or_company_finds_the_lead(leads, query, found):
    by_name = dict(zip(("person", "company", "latin"), leads, strict=True))
    matched = set(Lead.objects.filter(search_condition(query)).values_list("pk", flat=True))
    assert matched == {by_name[key].pk for key in found}


def test_the_pool_and_my_leads_search_by_two_and_three_characters(
    client, rep_a, public_pool, leads
):
    public_pool.hold_limit = 10
    public_pool.save()
    client.force_login(rep_a)
    base = f"{POOL}?pool={public_pool.pk}"
    assert names(client.get(base + "&q=华伟")) == 1
    assert names(client.get(base + "&q=华伟贸易")) == 1
    assert names(client.get(base + "&q=伟")) == 2
    person, company, _latin = leads
    services.claim_lead(lead=person.pk, user=rep_a)
    services.claim_lead(lead=company.pk, user=rep_a)
    assert names(client.get(MINE + "?q=伟华"), "my-row") == 1
    assert names(client.get(MINE + "?q=王伟华"), "my-row") == 1
    assert names(client.get(MINE + "?q=贸易"), "my-row") == 1
    assert names(client.get(MINE + "?q=伟"), "my-row") == 2
    assert names(client.get(MINE + "?q=zhang"), "my-row") == 0  # in the pool, not mine


def test_the_global_search_finds_a_fragment_inside_a_name(manager, leads):
    provider = next(p for p in search_providers(manager) if p.key == "leads")
    assert [r.title for r in provider.search(manager, "伟华", 5)] == ["王伟华"]
    assert [r.title for r in provider.search(manager, "贸易有限", 5)] == [
        "上海华伟贸易有限公司 · 李娜"
    ]


def _plan(query: str) -> str:
    sql, params = Lead.objects.filter(search_condition(query)).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        # a handful of rows: without this PostgreSQL reads the table, index or not
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_search_reads_the_name_indexes(leads):
    """Two characters through the characters-and-pairs GIN, three and more through the
    trigram GIN: a million leads are never read one by one for a name."""
    assert "leads_name_grams" in _plan("王伟")
    assert "leads_name_grams" in _plan("伟")
    assert "leads_name_trgm" in _plan("王伟华")
    assert "leads_name_trgm" in _plan("zhang")
