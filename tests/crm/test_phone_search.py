"""Searching by phone digits: a fragment is matched inside the national number (never the
country code), a full number in any spelling finds its customer, fragments stay the right of
those who may reveal (audited), and the search reads the partial index on the national
number (``crm_phone_national``, migration 0024)."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from django.db import connection
from django.urls import reverse

from crm import selectors, services
from crm.models import PiiAccess
from crm.roles import MEMBER_SERVICE, SALES_REP
from crm.selectors.customer_search import _COUNTRY_CODE
from crm.services import IdentityInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def make(name: str, *identities: IdentityInput):
    return services.resolve_customer(
        identities=list(identities), attributes={"display_name": name}, source="test"
    ).customer


@pytest.fixture
def desk(unit_a):
    return UserFactory(roles=[MEMBER_SERVICE], units=[unit_a])


@pytest.fixture
def rep(unit_a):
    return UserFactory(roles=[SALES_REP], units=[unit_a])


@pytest.fixture
def phones():
    return {
        "target": make("王伟", IdentityInput("mobile", "13800138000")),
        "inside": make("李娜", IdentityInput("mobile", "13986131234")),  # 8613 in the number
        "other": make("张敏", IdentityInput("mobile", "15912345678")),
        "landline": make("陈静", IdentityInput("mobile", "021 6212 3456")),
        "abroad": make("Smith", IdentityInput("mobile", "+1 415 555 2671")),
    }


def _found(client, q: str) -> set[int]:
    return {c.pk for c in client.get(reverse("customer-list"), {"q": q}).context["page"].rows}


def test_a_fragment_matches_the_national_number_not_the_country_code(client, desk, phones):
    """Before: ``8613`` matched every ``+8613…`` mobile (1.8 s on 1,000,000 customers)."""
    client.force_login(desk)
    assert _found(client, "8613") == {phones["inside"].pk}
    assert _found(client, "861") == {phones["inside"].pk}
    assert _found(client, "1415") == set()  # +1 415…: the country code is no part of it
    assert _found(client, "4155") == {phones["abroad"].pk}
    assert _found(client, "0013") == {phones["target"].pk}
    assert _found(client, "138 001") == {phones["target"].pk}
    # After "+" and a country code: that country's numbers starting with the rest.
    assert _found(client, "+86 138") == {phones["target"].pk}
    assert _found(client, "+86 139") == {phones["inside"].pk}
    assert _found(client, "+1 415") == {phones["abroad"].pk}
    assert _found(client, "+86 415") == set()
    # A landline as its mask shows it (trunk 0 and the area code).
    assert _found(client, "021 6212") == {phones["landline"].pk}
    assert _found(client, "2162") == {phones["landline"].pk}
    assert set(PiiAccess.objects.values_list("identity_type", flat=True)) == {"search:digits"}


@pytest.mark.parametrize(
    "spelling",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "(138) 0013 8000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "+8613800138000",
        "8613800138000",
        "86 138 0013 8000",
        "0086 138 0013 8000",
    ],
)
def test_a_full_number_in_any_spelling_finds_its_customer_for_everybody(
    client, desk, rep, phones, spelling, settings
):
    settings.IDENTITY_SEARCHES_PER_HOUR = 1000
    for user in (rep, desk):
        client.force_login(user)
        assert _found(client, spelling) == {phones["target"].pk}, (user, spelling)
    assert not PiiAccess.objects.exists()  # a whole number is no fragment search


def test_without_the_reveal_permission_only_the_last_four_digits_find_anybody(
    client, rep, phones, settings
):
    settings.IDENTITY_SEARCHES_PER_HOUR = 1000
    client.force_login(rep)
    assert _found(client, "8000") == {phones["target"].pk}
    assert _found(client, "2671") == {phones["abroad"].pk}
    for fragment in ("0013", "8613", "+86 138", "138 001", "021 6212", "1380013800"):
        assert _found(client, fragment) == set(), fragment
    assert not PiiAccess.objects.exists()


def test_a_uscc_digit_fragment_still_finds_the_company_for_who_may_reveal(client, desk):
    from crm.normalizers import uscc_check_char

    code = "91310000123456789"
    company = make("上海某某贸易有限公司", IdentityInput("uscc", code + uscc_check_char(code)))
    client.force_login(desk)
    assert _found(client, "310000123") == {company.pk}


def test_the_country_code_pattern_strips_exactly_every_country_code():
    """The SQL function and the Python pattern agree with ``phonenumbers`` on every code."""
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    assert len(codes) > 200
    values = [f"+{code}123456789" for code in codes]
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_phone_national(v) FROM unnest(%s::text[]) AS v", [values])
        nationals = [row[0] for row in cursor.fetchall()]
    assert nationals == ["123456789"] * len(codes)
    for code in codes:
        match = _COUNTRY_CODE.match(f"{code}123456789")
        assert match is not None and match[0] == str(code), code
    assert re.fullmatch(r"\d+", "".join(str(c) for c in codes))


def test_the_fragment_search_reads_the_national_number_index(phones):
    """The expression in the query is the index's own (an IMMUTABLE function; the index is
    partial: phones and codes): with 20,000 mobiles analysed, the plan reads
    ``identity_phone_national_trgm``, not the trigram index of every identity's value."""
    owner = phones["other"].pk
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO crm_identity (customer_id, type, value) SELECT %s, 'mobile', "
            "'+86139' || lpad((g * 7919 %% 100000000)::text, 8, '0') "
            "FROM generate_series(1, 20000) AS g",
            [owner],
        )
        cursor.execute("ANALYZE crm_identity")
    plan = selectors.parse_search("1354", may_reveal=True)
    assert plan.identities is not None
    sql, params = plan.identities.order_by().values("customer_id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        text = "\n".join(row[0] for row in cursor.fetchall())
    assert "identity_phone_national_trgm" in text, text
