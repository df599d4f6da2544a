"""Masking that cannot be walked around: searching fragments of personal identities is the
right of those who may reveal (and audited), and every personal identity type is masked on
every screen until revealed (audited)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm import services
from crm.models import PiiAccess
from crm.normalizers import mask_identity, uscc_check_char
from crm.roles import ADMIN, MEMBER_SERVICE, SALES_REP
from crm.services import IdentityInput
from tests.factories import BusinessUnitFactory, UserFactory

pytestmark = pytest.mark.django_db

NUMBER = "13800138000"
UNIONID = "oUnion7Hq2Lx9Wm4Rt6Yp"
OPENID = "oOpen3Kd8Vz1Nc5Bf0Gs"
EXTERNAL = "erp:C-20481024"
USCC = "91310000MA1FL0" + "123"
USCC += uscc_check_char(USCC)


def make(name: str, *identities: IdentityInput):
    return services.resolve_customer(
        identities=list(identities), attributes={"display_name": name}, source="test"
    ).customer


@pytest.fixture
def rep(unit_a):
    return UserFactory(roles=[SALES_REP], units=[unit_a])


@pytest.fixture
def desk(unit_a):
    return UserFactory(roles=[MEMBER_SERVICE], units=[unit_a])


@pytest.fixture
def people():
    target = make(
        "王伟",
        IdentityInput("mobile", NUMBER),
        IdentityInput("email", "wang.wei@example.com"),
        IdentityInput("wechat_unionid", UNIONID),
        IdentityInput("wechat_openid", OPENID),
        IdentityInput("external", EXTERNAL),
    )
    same_end = make("李娜", IdentityInput("mobile", "13900138000"))  # also ends in 8000
    same_start = make("张敏", IdentityInput("mobile", "13800131234"))
    other = make("陈静", IdentityInput("mobile", "15912345678"))
    company = make("上海某某贸易有限公司", IdentityInput("uscc", USCC))
    return target, same_end, same_start, other, company


def fragments() -> list[str]:
    """Every prefix and infix of the number, as typed and with its country code, and spaced."""
    seen: dict[str, None] = {}
    for text in (NUMBER, "86" + NUMBER):
        for i in range(len(text)):
            for j in range(i + 1, len(text) + 1):
                seen.setdefault(text[i:j])
    for i in range(3, len(NUMBER)):
        seen.setdefault(f"{NUMBER[:i]} {NUMBER[i:]}")
        seen.setdefault(f"+86 {NUMBER[:i]}")
        seen.setdefault(f"({NUMBER[i - 3 : i]})")
        seen.setdefault(f"{NUMBER[i - 3 : i]}-{NUMBER[i:]}")
    return list(seen)


def test_fragment_searches_cannot_recover_a_masked_phone_without_the_reveal_permission(
    client, rep, people, settings
) -> None:
    settings.IDENTITY_SEARCHES_PER_HOUR = 10_000  # the hourly limit is tested on its own
    target, same_end, _same_start, _other, _company = people
    by_last4 = {"8000": {target.pk, same_end.pk}}
    client.force_login(rep)
    searches = fragments()
    assert len(searches) >= 100
    narrowing = []
    for term in searches:
        digits = "".join(ch for ch in term if ch.isdigit())
        rows = client.get(reverse("customer-list"), {"q": term}).context["page"].rows
        found = {c.pk for c in rows}
        groups = client.get(reverse("search"), {"q": term}).context["groups"]
        found_globally = {
            int(r.badge.lstrip("#"))
            for g in groups
            if g["provider"].key == "customers"
            for r in g["results"]
        }
        full = digits in (NUMBER, "86" + NUMBER)
        allowed = {target.pk} if full else by_last4.get(digits, set())
        assert found == found_globally
        if found - allowed:
            narrowing.append((term, found))
    # Only a full number or the last four digits (shown by the mask anyway) find anybody.
    assert narrowing == []
    assert not PiiAccess.objects.exists()


def test_e_mail_and_id_fragments_find_nothing_without_the_reveal_permission(
    client, rep, people
) -> None:
    target, *_rest, company = people
    client.force_login(rep)

    def found(term: str) -> set[int]:
        return {
            c.pk for c in client.get(reverse("customer-list"), {"q": term}).context["page"].rows
        }

    for term in ("wang", "wang.wei@", "@example.com", "oUnion7", "Lx9Wm4", "C-2048", "erp:C-20"):
        assert found(term) == set(), term
    for term in ("Wang.Wei@Example.com", UNIONID, OPENID, EXTERNAL, "C-20481024"):
        assert found(term) == {target.pk}, term
    assert found(USCC[:10]) == {company.pk}  # a company's code is public: fragments are fine
    assert not PiiAccess.objects.exists()


def test_who_may_reveal_searches_fragments_and_every_such_search_is_audited(
    client, desk, people
) -> None:
    target, same_end, same_start, _other, _company = people
    client.force_login(desk)
    url = reverse("customer-list")
    rows = client.get(url, {"q": "0013"}).context["page"].rows
    assert {c.pk for c in rows} == {target.pk, same_end.pk, same_start.pk}
    audit = list(PiiAccess.objects.order_by("customer_id"))
    assert {a.customer_id for a in audit} == {target.pk, same_end.pk, same_start.pk}
    assert {(a.user, a.identity_type) for a in audit} == {(desk, "search:digits")}
    digest = services.pii_search_digest("0013")
    assert {a.search for a in audit} == {digest} and "0013" not in digest
    assert audit[0].ip == "127.0.0.1"

    PiiAccess.objects.all().delete()
    assert [c.pk for c in client.get(url, {"q": "wang.wei@"}).context["page"].rows] == [target.pk]
    assert PiiAccess.objects.get().identity_type == "search:email"

    PiiAccess.objects.all().delete()
    assert client.get(url, {"q": "99999"}).context["page"].rows == []
    nothing = PiiAccess.objects.get()  # a search that found nobody is recorded too
    assert nothing.customer is None and nothing.search == services.pii_search_digest("99999")

    PiiAccess.objects.all().delete()
    groups = client.get(reverse("search"), {"q": "Lx9Wm4"}).context["groups"]
    assert [r.title for g in groups if g["provider"].key == "customers" for r in g["results"]] == [
        "王伟"
    ]
    assert PiiAccess.objects.get().identity_type == "search:text"

    PiiAccess.objects.all().delete()  # whole values and names are no fragment searches
    client.get(url, {"q": "138 0013 8000"})
    client.get(url, {"q": "王伟"})
    assert not PiiAccess.objects.exists()


def test_the_360_view_masks_every_personal_identity_and_reveals_each_type_audited(
    client, rep, desk, people
) -> None:
    target, *_rest, company = people
    url = reverse("customer-detail", args=[target.pk])
    full_values = (NUMBER, "wang.wei@example.com", UNIONID, OPENID, "C-20481024")
    for user in (rep, desk):
        client.force_login(user)
        html = client.get(url).content.decode()
        for value in full_values:
            assert value not in html
        for type_, value in (("wechat_unionid", UNIONID), ("external", EXTERNAL)):
            assert mask_identity(type_, value) in html
    assert "reveal-wechat_unionid" in html and "reveal-external" in html
    client.force_login(rep)
    assert "reveal-" not in client.get(url).content.decode()
    reveal = reverse("customer-reveal", args=[target.pk])
    assert client.post(reveal, {"type": "wechat_unionid"}).status_code == 403
    client.force_login(desk)
    for type_, value in (
        ("wechat_unionid", UNIONID),
        ("wechat_openid", OPENID),
        ("external", EXTERNAL),
    ):
        assert value in client.post(reveal, {"type": type_}).content.decode()
    assert client.post(reveal, {"type": "uscc"}).status_code == 404  # not personal: shown
    assert list(PiiAccess.objects.order_by("id").values_list("identity_type", flat=True)) == [
        "wechat_unionid",
        "wechat_openid",
        "external",
    ]
    assert USCC in client.get(reverse("customer-detail", args=[company.pk])).content.decode()


def test_duplicate_review_masks_every_personal_identity(client, desk, people) -> None:
    target, same_end, *_rest = people
    candidate = services.record_duplicate_candidate(
        first=target, second=same_end, reason="manual", detail="test"
    )
    client.force_login(desk)
    html = client.get(reverse("duplicate-review", args=[candidate.pk])).content.decode()
    for value in (NUMBER, "13900138000", "wang.wei@example.com", UNIONID, OPENID, "C-20481024"):
        assert value not in html
    assert mask_identity("wechat_openid", OPENID) in html
    assert mask_identity("external", EXTERNAL) in html
    queue = client.get(reverse("duplicate-list")).content.decode()
    assert UNIONID not in queue and NUMBER not in queue
    assert not PiiAccess.objects.exists()


def test_an_audited_fragment_search_costs_the_same_few_queries_however_many_match(
    client, desk, django_assert_max_num_queries
) -> None:
    for n in range(30):
        make(f"客户{n:02d}", IdentityInput("mobile", f"138001380{n:02d}"))
    client.force_login(desk)
    with django_assert_max_num_queries(14):  # the list's 11, and the audit's one INSERT
        response = client.get(reverse("customer-list"), {"q": "0013"})
    page = response.context["page"]
    assert len(page.rows) == 25 and page.has_next
    assert PiiAccess.objects.count() == 25
    second = client.get(reverse("customer-list"), {"q": "0013", "after": page.next_cursor})
    assert len(second.context["page"].rows) == 5
    assert {c.pk for c in second.context["page"].rows}.isdisjoint({c.pk for c in page.rows})


def test_full_number_searches_are_limited_for_who_may_not_reveal(client, settings) -> None:
    """The mask shows 7 of 11 digits: full-number guesses would find a masked number in at
    most 10,000 tries, so such searches are counted per user and hour."""
    from crm.models import RateCounter
    from tests.conftest import PASSWORD

    settings.IDENTITY_SEARCHES_PER_HOUR = 5
    unit = BusinessUnitFactory(code="LIM")
    target = services.resolve_customer(
        identities=[IdentityInput("mobile", "13800138000")], source="pos", business_unit=unit
    ).customer
    rep = UserFactory(username="guesser", roles=[SALES_REP], units=[unit], password=PASSWORD)
    client.force_login(rep)
    for n in range(5):
        client.get("/customers/", {"q": f"1380013{n:04d}"})
    refused = client.get("/customers/", {"q": "13800138000"})
    assert refused.context["page"].rows == []
    assert [m.level_tag for m in refused.context["messages"]] == ["error"]
    assert services.search_customers(rep, "138 0013 8000", 5) == []
    assert client.get("/customers/", {"q": "王"}).status_code == 200  # names are not counted
    assert RateCounter.objects.get(key=f"identity_search:{rep.pk}").hits == 7
    boss = UserFactory(username="boss2", roles=[ADMIN], units=[unit])
    for _ in range(7):
        assert services.search_customers(boss, "13800138000", 5)[0].url.endswith(f"/{target.pk}/")


def test_api_lookups_by_staff_who_may_not_reveal_count_too(settings) -> None:
    from rest_framework.test import APIClient

    settings.IDENTITY_SEARCHES_PER_HOUR = 2
    unit = BusinessUnitFactory(code="LIM2")
    rep = UserFactory(username="api_guesser", roles=[SALES_REP], units=[unit])
    api = APIClient()
    api.force_authenticate(rep)
    statuses = [
        api.get("/api/v1/customers/", {"mobile": f"1380013800{n}"}).status_code for n in range(3)
    ]
    assert statuses == [200, 200, 429]
