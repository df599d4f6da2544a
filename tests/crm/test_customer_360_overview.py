"""The 360 view's figures above the tabs: identities, consents (state and history), tags,
merges and open duplicates read in one statement, equal to what the ORM reads row by row,
and the timeline's lines made in the view (the same markup the template made)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from crm import selectors, services
from crm.models import (
    Consent,
    CustomerTag,
    DuplicateCandidate,
    Merge,
    Tag,
    TagCategory,
    TimelineEvent,
)
from crm.roles import MEMBER_SERVICE
from crm.services import IdentityInput, TransactionInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def make(phone: str, name: str, **more: str):
    identities = [IdentityInput("mobile", phone)]
    identities += [IdentityInput(k, v) for k, v in more.items()]
    return services.resolve_customer(
        identities=identities, attributes={"display_name": name}, source="test"
    ).customer


@pytest.fixture
def desk(unit_a, unit_b):
    return UserFactory(roles=[MEMBER_SERVICE], units=[unit_a, unit_b], first_name="前台")


@pytest.fixture
def full(desk, unit_a):
    """A customer with every list above the tabs filled: three identities, 23 consent
    changes over two channels, two tags (one by a rule), two merged customers, two open
    duplicate candidates and one dismissed."""
    customer = make("13800138000", "王伟", email="wang@example.com", wechat_unionid="o6_bmasdf")
    for k in range(23):
        services.record_consent(
            customer=customer,
            channel="sms" if k % 2 else "email",
            purpose="marketing",
            granted=bool(k % 3),
            source=f"desk-{k}",
            actor=desk if k % 4 else None,
            occurred_at=WHEN - timedelta(days=30 - k),
        )
    category = TagCategory.objects.create(name="价值", color="red")
    services.add_tag(
        customer=customer, tag=Tag.objects.create(category=category, name="VIP"), rule="big_spender"
    )
    services.add_tag(
        customer=customer,
        tag=Tag.objects.create(category=category, name="高频"),
        actor=desk,
    )
    for phone, name in (("13900139000", "王伟伟"), ("13700137000", "")):
        loser = make(phone, name)
        services.merge_customers(survivor=customer, loser=loser, actor=desk, reason="同一人")
    for phone, score in (("13600136000", 60), ("13500135000", 90), ("13400134000", 70)):
        other = make(phone, "王维")
        services.record_duplicate_candidate(
            first=customer, second=other, reason="manual", score=score
        )
    DuplicateCandidate.objects.filter(score=70).update(status="dismissed")
    services.ingest_transactions(
        business_unit=unit_a,
        source="pos",
        rows=[
            TransactionInput(
                "T1",
                WHEN,
                Decimal("10"),
                "store",
                identities=[IdentityInput("mobile", "13800138000")],
            )
        ],
    )
    return customer


def _orm_overview(customer):
    """What the five ORM queries read before (crm.selectors.customer_360 at main)."""
    consents = list(Consent.objects.filter(customer=customer).order_by("-occurred_at", "-id"))
    latest: dict[tuple[str, str], Consent] = {}
    for c in consents:
        latest.setdefault((c.channel, c.purpose), c)
    return {
        "identities": list(customer.identities.all()),
        "consents": sorted(latest.values(), key=lambda c: (c.channel, c.purpose)),
        "consent_history": consents[:20],
        "tags": list(
            CustomerTag.objects.filter(customer=customer)
            .select_related("tag__category", "set_by")
            .order_by("tag__category__name", "tag__name")
        ),
        "merged_from": list(Merge.objects.filter(survivor=customer)),
        "open_duplicates": list(
            DuplicateCandidate.objects.open().filter(customer_a=customer)
            | DuplicateCandidate.objects.open().filter(customer_b=customer)
        )[:5],
    }


def test_the_figures_above_the_tabs_are_read_in_two_queries(
    full, desk, django_assert_num_queries
) -> None:
    selectors.customer_overview(user=desk, customer=full)  # the user's permissions and units
    with django_assert_num_queries(2):  # the per-unit totals, then everything else
        overview = selectors.customer_overview(user=desk, customer=full)
    with django_assert_num_queries(0):  # related rows come with them
        shown = {
            "identities": [
                (i.pk, i.type, i.masked_value, i.verified, i.source) for i in overview["identities"]
            ],
            "consents": [(c.pk, c.granted, c.occurred_at, c.source) for c in overview["consents"]],
            "history": [
                (c.pk, c.actor.first_name if c.actor else None) for c in overview["consent_history"]
            ],
            "tags": [
                (t.tag.category.name, t.tag.category.color, t.tag.name, t.rule, t.set_by_id)
                for t in overview["tags"]
            ],
            "set_by": [t.set_by.first_name for t in overview["tags"] if t.set_by],
            "merges": [
                (m.pk, m.loser.shown_name, m.loser.number, m.actor.username, m.reason, m.summary)
                for m in overview["merged_from"]
            ],
            "duplicates": [
                (d.pk, d.score, d.customer_a.display_name, d.customer_b.number)
                for d in overview["open_duplicates"]
            ],
        }
    before = _orm_overview(full)
    assert shown["identities"] == [
        (i.pk, i.type, i.masked_value, i.verified, i.source) for i in before["identities"]
    ]
    assert len(shown["identities"]) == 5  # with the merged customers' phones
    assert shown["consents"] == [
        (c.pk, c.granted, c.occurred_at, c.source) for c in before["consents"]
    ]
    assert [pk for pk, _ in shown["history"]] == [c.pk for c in before["consent_history"]]
    assert len(shown["history"]) == 20 and "前台" in {n for _, n in shown["history"]}
    assert shown["tags"] == [
        (t.tag.category.name, t.tag.category.color, t.tag.name, t.rule, t.set_by_id)
        for t in before["tags"]
    ]
    assert shown["set_by"] == ["前台"]
    assert shown["merges"] == [
        (m.pk, m.loser.shown_name, m.loser.number, m.actor.username, m.reason, m.summary)
        for m in sorted(before["merged_from"], key=lambda m: m.created_at, reverse=True)
    ]
    assert sorted(d[1] for d in shown["duplicates"]) == [60, 90]
    assert [d[0] for d in shown["duplicates"]] == [
        d.pk for d in sorted(before["open_duplicates"], key=lambda d: (-d.score, -d.pk))
    ]


def test_the_360_view_shows_every_list_and_the_timeline_lines(client, full, desk) -> None:
    services.add_note(customer=full, author=desk, text="第一行\n<b>第二行</b>")
    services.record_event(
        customer=full, type="tag.added", summary="<script>x</script>", business_unit=None
    )
    client.force_login(desk)
    html = client.get(reverse("customer-detail", args=[full.pk])).content.decode()
    assert html.count('data-testid="unit-row"') == 1
    assert "138****8000" in html and "13800138000" not in html
    assert html.count('data-testid="identity-') >= 3
    assert "价值: VIP" in html and "价值: 高频" in html
    assert html.count('class="list-group-item list-group-item-action" href="/merges/') == 2
    assert 'data-testid="duplicate-alert"' in html and "王维" in html
    assert 'data-testid="consent-history"' in html
    # The timeline's lines: escaped, the note's line breaks kept, the pin form with its token.
    assert "第一行<br>&lt;b&gt;第二行&lt;/b&gt;" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x</script>" not in html
    assert 'data-testid="note-pin"' in html and 'name="csrfmiddlewaretoken"' in html
    assert 'data-testid="timeline-amount">¥10.00<' in html
    assert 'data-type="transaction.purchase"' in html and 'data-type="note"' in html
    assert TimelineEvent.objects.filter(customer=full).exists()
