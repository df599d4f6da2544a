"""The 360 view's timeline: notes (write, validate, pin, permissions, merge) and purchases
(amounts per locale, source names, units, cancellations marked), in a pinned number of
queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from crm import selectors, services
from crm.models import NOTE_MAX_LENGTH, CustomerNote, SourceSystem
from crm.roles import AUDITOR, MEMBER_SERVICE, SALES_REP
from crm.services import IdentityInput, TransactionInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
PHONE = "13800138000"


@pytest.fixture(autouse=True)
def pos_name(db) -> None:
    SourceSystem.objects.get_or_create(
        code="pos", defaults={"name_zh": "门店收银", "name_en": "Store POS"}
    )


@pytest.fixture
def customer():
    return services.resolve_customer(
        identities=[IdentityInput("mobile", PHONE)],
        attributes={"display_name": "王伟"},
        source="pos",
    ).customer


@pytest.fixture
def desk(unit_a, unit_b):
    return UserFactory(roles=[MEMBER_SERVICE], units=[unit_a, unit_b])


def htmx_post(client, url, data):
    return client.post(url, data, HTTP_HX_REQUEST="true")


# --- Notes ------------------------------------------------------------------------------------


def test_a_note_is_added_with_htmx_and_shows_on_the_timeline(client, desk, customer) -> None:
    client.force_login(desk)
    response = htmx_post(
        client, reverse("customer-note-add", args=[customer.pk]), {"text": "  客户要求周末送货  "}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # the tab only, swapped in place
    assert 'data-testid="note-saved"' in html and "客户要求周末送货" in html
    note = CustomerNote.objects.get()
    assert (note.text, note.author, note.customer, note.pinned_at) == (
        "客户要求周末送货",
        desk,
        customer,
        None,
    )
    entries = client.get(reverse("customer-detail", args=[customer.pk])).context["events"]
    assert [e.kind for e in entries.object_list][:1] == ["note"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [("   ", "请先填写备注"), ("长" * (NOTE_MAX_LENGTH + 1), f"备注最多 {NOTE_MAX_LENGTH} 个字")],
)
def test_an_empty_or_too_long_note_is_refused_naming_the_reason(
    client, desk, customer, text, reason
) -> None:
    client.force_login(desk)
    url = reverse("customer-note-add", args=[customer.pk])
    response = htmx_post(client, url, {"text": text})
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="note-error"' in html and reason in html
    assert "is-invalid" in html
    assert not CustomerNote.objects.exists()
    response = client.post(url, {"text": text})  # without htmx: back to the page, a message
    assert response.status_code == 302
    with pytest.raises(services.InvalidNote) as refused:
        services.add_note(customer=customer, author=desk, text=text)
    assert refused.value.field == "text"


def test_pinned_notes_come_first_and_can_be_unpinned(client, desk, customer) -> None:
    client.force_login(desk)
    add = reverse("customer-note-add", args=[customer.pk])
    htmx_post(client, add, {"text": "第一条"})
    htmx_post(client, add, {"text": "重要：只接受电话联系", "pinned": "1"})
    htmx_post(client, add, {"text": "第三条"})
    first = CustomerNote.objects.get(text="第一条")
    htmx_post(client, reverse("customer-note-pin", args=[customer.pk, first.pk]), {"pinned": "1"})
    url = reverse("customer-detail", args=[customer.pk])
    pinned = client.get(url).context["pinned_notes"]
    assert [n.text for n in pinned] == ["第一条", "重要：只接受电话联系"]  # latest pinned first
    response = htmx_post(
        client, reverse("customer-note-pin", args=[customer.pk, first.pk]), {"pinned": "0"}
    )
    assert response.status_code == 200 and 'data-testid="pinned-notes"' in response.content.decode()
    assert [n.text for n in client.get(url).context["pinned_notes"]] == ["重要：只接受电话联系"]
    html = client.get(url).content.decode()
    assert html.index('data-testid="pinned-notes"') < html.index('data-testid="timeline"')


def test_who_may_write_pin_and_read_notes(client, customer, unit_a) -> None:
    rep = UserFactory(roles=[SALES_REP], units=[unit_a])
    auditor = UserFactory(roles=[AUDITOR], units=[unit_a])
    assert rep.has_perm("crm.add_customernote") and rep.has_perm("crm.change_customernote")
    note = services.add_note(customer=customer, author=rep, text="回访过")
    client.force_login(auditor)
    add = reverse("customer-note-add", args=[customer.pk])
    assert client.post(add, {"text": "x"}).status_code == 403
    pin = reverse("customer-note-pin", args=[customer.pk, note.pk])
    assert client.post(pin, {"pinned": "1"}).status_code == 403
    page = client.get(reverse("customer-detail", args=[customer.pk]))
    assert page.status_code == 200 and "回访过" in page.content.decode()  # reads them
    assert 'data-testid="note-form"' not in page.content.decode()
    other = services.resolve_customer(
        identities=[IdentityInput("mobile", "13900139000")], source="pos"
    ).customer
    client.force_login(rep)
    wrong = reverse("customer-note-pin", args=[other.pk, note.pk])  # not that customer's note
    assert client.post(wrong, {"pinned": "1"}).status_code == 404


def test_notes_move_to_the_survivor_of_a_merge(client, desk, customer, admin_user) -> None:
    loser = services.resolve_customer(
        identities=[IdentityInput("mobile", "13900139000")],
        attributes={"display_name": "王伟"},
        source="pos",
    ).customer
    services.add_note(customer=loser, author=desk, text="老客户", pinned=True)
    merge = services.merge_customers(
        survivor=customer, loser=loser, actor=admin_user, reason="同一人"
    )
    assert merge.summary["notes"] == 1
    assert CustomerNote.objects.get().customer == customer
    with pytest.raises(services.InvalidNote):
        services.add_note(customer=loser, author=desk, text="写到墓碑上")
    client.force_login(desk)
    response = client.get(reverse("customer-detail", args=[customer.pk]))
    assert [n.text for n in response.context["pinned_notes"]] == ["老客户"]
    merged = client.get(reverse("merge-detail", args=[merge.pk])).content.decode()
    assert "备注" in merged


# --- Purchases on the timeline -------------------------------------------------------------------


def ingest(unit, rows):
    return services.ingest_transactions(business_unit=unit, source="pos", rows=rows)


def order(external_id, when, amount, **kw):
    return TransactionInput(
        external_id, when, amount, "store", identities=[IdentityInput("mobile", PHONE)], **kw
    )


def test_purchases_and_cancellations_appear_on_the_timeline(client, desk, customer, unit_a) -> None:
    ingest(
        unit_a,
        [
            order("T-1", WHEN, "12345.60"),
            order(
                "T-1R",
                WHEN + timedelta(days=1),
                "-345.60",
                kind="cancellation",
                original_external_id="T-1",
            ),
        ],
    )
    client.force_login(desk)
    url = reverse("customer-detail", args=[customer.pk])
    response = client.get(url)
    entries = [e for e in response.context["events"].object_list if e.kind == "transaction"]
    assert [(e.type.code, e.amount, e.source) for e in entries] == [
        ("transaction.cancellation", "-¥345.60", "门店收银"),
        ("transaction.purchase", "¥12,345.60", "门店收银"),
    ]
    html = response.content.decode()
    assert 'data-testid="cancellation-badge"' in html and "星辰汽车" in html
    only = client.get(url, {"type": "transaction.cancellation"}).context["events"].object_list
    assert [e.external_id for e in only] == ["T-1R"]
    assert client.get(url, {"type": "note"}).context["events"].object_list == []
    desk.language = "en"
    desk.save(update_fields=["language"])
    entries = client.get(url).context["events"].object_list
    assert "CN¥12,345.60" in [e.amount for e in entries if e.kind == "transaction"]
    assert "Store POS" in client.get(url).content.decode()


def test_a_rep_sees_only_the_purchases_of_their_units(client, customer, unit_a, unit_b) -> None:
    ingest(unit_a, [order("A-1", WHEN, "10")])
    ingest(unit_b, [order("B-1", WHEN, "20")])
    rep = UserFactory(roles=[SALES_REP], units=[unit_a])
    client.force_login(rep)
    entries = client.get(reverse("customer-detail", args=[customer.pk])).context["events"]
    assert [e.external_id for e in entries.object_list if e.kind == "transaction"] == ["A-1"]


def test_the_timeline_reads_a_constant_number_of_queries(
    client, desk, customer, unit_a, unit_b, django_assert_num_queries
) -> None:
    def history(n: int, offset: int) -> None:
        ingest(
            unit_a if offset % 2 else unit_b,
            [order(f"H{offset + k}", WHEN - timedelta(hours=k), "10") for k in range(n)],
        )
        for k in range(n):
            services.record_event(
                customer=customer,
                type="tag.added",
                summary=f"e{offset + k}",
                business_unit=unit_a,
                occurred_at=WHEN - timedelta(hours=k, minutes=30),
            )
            note = services.add_note(customer=customer, author=desk, text=f"n{offset + k}")
            CustomerNote.objects.filter(pk=note.pk).update(
                created_at=WHEN - timedelta(hours=k, minutes=45)
            )

    history(3, 1)
    client.force_login(desk)
    url = reverse("customer-detail", args=[customer.pk])
    client.get(url)
    # session, user, permissions and roles (one query), the customer, units, the figures (units,
    # consents, identities, tags, merges, duplicates), the timeline (the union, then its
    # events, transactions and notes, the pinned notes, the filter's units), the tag picker,
    # the recently viewed customer recorded, the blacklist banner's open entry, the accounts
    # app's panel ("contact at"), the members app's panel (the membership), the campaigns
    # app's panel (the coupons), the customer metrics panel; 18 (was 24): the figures'
    # identities, consents, tags, merges and duplicates in one statement, the user with its
    # permissions and units in one (crm.auth_backends)
    with django_assert_num_queries(18) as few:
        response = client.get(url)
    assert {e.kind for e in response.context["events"].object_list} == {
        "event",
        "transaction",
        "note",
    }
    history(40, 100)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert {e.kind for e in response.context["events"].object_list} == {
        "event",
        "transaction",
        "note",
    }
    assert response.context["events"].has_next
    with django_assert_num_queries(len(few.captured_queries) - 1):  # pinned notes: page 1 only
        response = client.get(url, {"page": 3})
    assert {e.kind for e in response.context["events"].object_list} == {
        "event",
        "transaction",
        "note",
    }
    # The note form's htmx answer, the tab only: session, user, permissions and roles (one
    # query), the customer, the note (savepoint, lock, insert, release), units, the timeline
    # (4), the pinned notes, the filter's units.
    with django_assert_num_queries(13):
        htmx_post(client, reverse("customer-note-add", args=[customer.pk]), {"text": "再来一条"})


def test_the_timeline_stream_pages_without_gaps_or_repeats(desk, customer, unit_a) -> None:
    ingest(unit_a, [order(f"P{k}", WHEN - timedelta(minutes=k), "1") for k in range(30)])
    for k in range(30):
        services.add_note(customer=customer, author=desk, text=f"note {k}")
    stream = selectors.CustomerTimeline(user=desk, customer=customer)
    seen = [(e.kind, e.item.pk) for start in range(0, 80, 25) for e in stream[start : start + 25]]
    assert len(seen) == len(set(seen)) == 61  # 30 orders, 30 notes, the creation
    times = [e.occurred_at for e in stream[0:100]]
    assert times == sorted(times, reverse=True)


def test_the_database_refuses_an_empty_or_too_long_note(customer) -> None:
    from django.db import IntegrityError, transaction

    for text in ("", "长" * (NOTE_MAX_LENGTH + 1)):
        with pytest.raises(IntegrityError), transaction.atomic():
            CustomerNote.objects.create(customer=customer, text=text)
