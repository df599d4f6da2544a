"""The customer master's rules: resolution, duplicates, merge, ingestion, consents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import translation

from crm import services
from crm.errors import DomainError
from crm.models import (
    Consent,
    Customer,
    CustomerTag,
    DuplicateCandidate,
    DuplicateStatus,
    Identity,
    Merge,
    Tag,
    TagCategory,
    TimelineEvent,
    Transaction,
    TransactionStatus,
)
from crm.registry import MergeHandler, _merge_handlers, register_merge_handler
from crm.services import IdentityInput, MergeRefused, TransactionInput


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the default interface language is Chinese)."""
    with translation.override("en"):
        yield


pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def person(phone: str, name: str = "王伟", **extra: object) -> Customer:
    return services.resolve_customer(
        identities=[IdentityInput("mobile", phone)],
        attributes={"display_name": name, **extra},
        source="test",
    ).customer


def order(external_id: str, amount: str, identities=(), **kw: object) -> TransactionInput:
    return TransactionInput(
        external_id=external_id,
        occurred_at=kw.pop("occurred_at", WHEN),  # type: ignore[arg-type]
        amount=amount,
        channel=kw.pop("channel", "store"),  # type: ignore[arg-type]
        identities=list(identities),
        **kw,  # type: ignore[arg-type]
    )


# --- Resolution ----------------------------------------------------------------------------


def test_a_phone_from_pos_and_the_same_phone_from_wechat_are_one_customer(unit_a) -> None:
    pos = services.resolve_customer(
        identities=[IdentityInput("mobile", "138 0013 8000")],
        attributes={"display_name": "李娜"},
        source="pos",
        business_unit=unit_a,
    )
    wechat = services.resolve_customer(
        identities=[
            IdentityInput("mobile", "+86 13800138000"),
            IdentityInput("wechat_unionid", "oUnion123456"),
        ],
        source="wechat",
    )
    assert pos.created and not wechat.created
    assert wechat.customer.pk == pos.customer.pk
    assert wechat.added_identities == 1
    assert set(pos.customer.identities.values_list("type", "value")) == {
        ("mobile", "+8613800138000"),
        ("wechat_unionid", "oUnion123456"),
    }
    # And a later record carrying only the WeChat id finds the same customer.
    again = services.resolve_customer(
        identities=[IdentityInput("wechat_unionid", " oUnion123456 ")], source="mini"
    )
    assert again.customer.pk == pos.customer.pk
    assert Customer.objects.count() == 1
    assert TimelineEvent.objects.filter(customer=pos.customer, type="customer.created").count() == 1


def test_identities_of_two_customers_in_one_record_make_a_candidate_not_a_merge() -> None:
    phone_owner = person("13800138000", "李娜")
    wechat_owner = services.resolve_customer(
        identities=[IdentityInput("wechat_unionid", "oUnionABCDEF")],
        attributes={"display_name": "李娜 (微信)"},
        source="wechat",
    ).customer
    result = services.resolve_customer(
        identities=[
            IdentityInput("wechat_unionid", "oUnionABCDEF"),
            IdentityInput("mobile", "13800138000"),
            IdentityInput("email", "Li.Na@Example.com"),
        ],
        source="crm_form",
    )
    # Best match: the owner of the stronger identity (mobile beats WeChat unionid).
    assert result.customer.pk == phone_owner.pk
    assert len(result.candidates) == 1
    candidate = result.candidates[0]
    assert {candidate.customer_a_id, candidate.customer_b_id} == {phone_owner.pk, wechat_owner.pk}
    assert candidate.status == DuplicateStatus.OPEN
    assert Customer.objects.live().count() == 2  # nothing merged silently
    assert Identity.objects.get(type="email").customer_id == phone_owner.pk
    # Seeing the same conflict again does not queue the pair twice.
    services.resolve_customer(
        identities=[
            IdentityInput("wechat_unionid", "oUnionABCDEF"),
            IdentityInput("mobile", "138 0013 8000"),
        ],
        source="crm_form",
    )
    assert DuplicateCandidate.objects.count() == 1


def test_invalid_identities_are_refused_with_the_field_and_nothing_is_written() -> None:
    with pytest.raises(DomainError) as exc:
        services.resolve_customer(
            identities=[IdentityInput("mobile", "abc!!<script>")], source="test"
        )
    assert getattr(exc.value, "field", None) == "mobile"
    assert Customer.objects.count() == 0


def test_resolution_fills_blanks_but_never_overwrites() -> None:
    first = person("13900139000", "张三", region="上海")
    again = services.resolve_customer(
        identities=[IdentityInput("mobile", "13900139000")],
        attributes={"display_name": "Zhang San", "region": "北京", "gender": "male"},
        source="pos",
    ).customer
    again.refresh_from_db()
    assert again.pk == first.pk
    assert (again.display_name, again.region, again.gender) == ("张三", "上海", "male")


def test_the_periodic_finder_queues_same_name_and_phone_ending() -> None:
    a = person("13800001234", "王伟")
    b = person("13911111234", "王 伟")
    person("13922221234", "李娜")  # same ending, other name
    person("13800005678", "王伟")  # same name, other ending
    found = services.find_duplicate_candidates()
    assert found["name_phone_suffix"] == 1
    pair = DuplicateCandidate.objects.get()
    assert (pair.customer_a_id, pair.customer_b_id) == tuple(sorted((a.pk, b.pk)))
    assert services.find_duplicate_candidates()["name_phone_suffix"] == 0  # not twice


def test_the_periodic_finder_queues_same_email_name_and_similar_name() -> None:
    for email, name in [
        ("chen.jing@qq.com", "陈静"),
        ("chen.jing@163.com", "陈静"),
        ("info@a.com", "Alpha Ltd"),
        ("info@b.com", "Alpha Ltd"),
    ]:
        services.resolve_customer(
            identities=[IdentityInput("email", email)],
            attributes={"display_name": name},
            source="test",
        )
    found = services.find_duplicate_candidates()
    assert found["email_local_name"] == 1  # "info" is too generic to count


# --- Merge ---------------------------------------------------------------------------------


def test_merge_moves_everything_and_records_it(unit_a, admin_user) -> None:
    survivor = person("13800138000", "李娜")
    loser = services.resolve_customer(
        identities=[
            IdentityInput("email", "lina@example.com"),
            IdentityInput("wechat_openid", "oOpen123456"),
        ],
        attributes={"display_name": "Li Na", "birthday": "1990-05-01", "region": "杭州"},
        source="shop",
    ).customer
    services.ingest_transactions(
        business_unit=unit_a,
        source="shop",
        rows=[order("S-1", "100.00", [IdentityInput("email", "lina@example.com")])],
    )
    services.record_consent(
        customer=loser, channel="sms", purpose="marketing", granted=True, source="shop"
    )
    category = TagCategory.objects.create(name="价值")
    vip, car = (
        Tag.objects.create(category=category, name="VIP"),
        Tag.objects.create(category=category, name="车主"),
    )
    services.add_tag(customer=loser, tag=vip)
    services.add_tag(customer=loser, tag=car)
    services.add_tag(customer=survivor, tag=vip)
    pair = services.record_duplicate_candidate(
        first=survivor, second=loser, reason="manual", detail="same person"
    )
    third = person("13600136000", "其他人")
    other_pair = services.record_duplicate_candidate(first=loser, second=third, reason="manual")
    moved_rows = []
    register_merge_handler(
        MergeHandler(
            "memberships", "Memberships", lambda survivor, loser: moved_rows.append(loser.pk) or 3
        )
    )
    try:
        merge = services.merge_customers(
            survivor=survivor, loser=loser, actor=admin_user, reason="同一人：电话核实"
        )
    finally:
        _merge_handlers.pop("memberships")

    loser.refresh_from_db()
    survivor.refresh_from_db()
    assert loser.merged_into_id == survivor.pk and loser.merged_at is not None
    assert not Identity.objects.filter(customer=loser).exists()
    assert Identity.objects.filter(customer=survivor).count() == 3
    assert Transaction.objects.get(external_id="S-1").customer_id == survivor.pk
    assert Consent.objects.get().customer_id == survivor.pk
    assert set(
        CustomerTag.objects.filter(customer=survivor).values_list("tag__name", flat=True)
    ) == {
        "VIP",
        "车主",
    }
    # Only the loser's own creation stays on the tombstone (the survivor shows one creation).
    assert list(TimelineEvent.objects.filter(customer=loser).values_list("type", flat=True)) == [
        "customer.created"
    ]
    assert moved_rows == [loser.pk]  # the registry reached the app's handler
    assert (survivor.birthday.isoformat(), survivor.region) == ("1990-05-01", "杭州")
    assert merge.actor == admin_user and merge.reason == "同一人：电话核实"
    assert merge.summary == {
        "identities": 2,
        "transactions": 1,
        "consents": 1,
        "tags": 1,
        "memberships": 3,
        "blacklist_entries": 0,  # crm's own merge handler (the blacklist)
        "accounts": 0,  # the accounts app's handler: neither was a contact or an account
        "members": 0,  # the members app's handler: neither was a member
        "campaigns": 0,  # the campaigns app's handler: neither held a coupon
        "leads": 0,  # the leads app's handler: neither had a lead
        "notes": 0,
        "timeline_events": merge.summary["timeline_events"],
        "duplicate_candidates": 1,
    }
    assert merge.summary["timeline_events"] >= 3
    assert merge.loser_snapshot["display_name"] == "Li Na"
    pair.refresh_from_db()
    other_pair.refresh_from_db()
    assert pair.status == DuplicateStatus.MERGED and pair.reviewed_by == admin_user
    assert {other_pair.customer_a_id, other_pair.customer_b_id} == {survivor.pk, third.pk}
    event = TimelineEvent.objects.get(customer=survivor, type="customer.merged")
    assert event.actor == admin_user and event.data["moved"]["identities"] == 2
    # The old id still leads to the survivor; a new record with the loser's e-mail too.
    assert Customer.objects.get(pk=loser.pk).merged_into == survivor
    found = services.resolve_customer(
        identities=[IdentityInput("email", "LINA@example.com")], source="x"
    )
    assert found.customer.pk == survivor.pk


def test_merge_refusals(admin_user) -> None:
    a, b, c = person("13800138001", "甲"), person("13800138002", "乙"), person("13800138003", "丙")
    org = services.resolve_customer(
        identities=[IdentityInput("uscc", "91350100M000100Y43")],
        attributes={"display_name": "福州某公司"},
        source="test",
    ).customer
    with pytest.raises(MergeRefused, match="itself"):
        services.merge_customers(survivor=a, loser=a, actor=admin_user, reason="x")
    with pytest.raises(MergeRefused) as exc:
        services.merge_customers(survivor=a, loser=b, actor=admin_user, reason="  ")
    assert exc.value.field == "reason"
    with pytest.raises(MergeRefused, match="person and an organization"):
        services.merge_customers(survivor=a, loser=org, actor=admin_user, reason="x")
    services.merge_customers(survivor=a, loser=b, actor=admin_user, reason="same")
    b.refresh_from_db()
    with pytest.raises(MergeRefused, match="already merged"):
        services.merge_customers(survivor=c, loser=b, actor=admin_user, reason="again")
    with pytest.raises(MergeRefused, match="already merged"):
        services.merge_customers(survivor=b, loser=c, actor=admin_user, reason="into a tombstone")
    assert Merge.objects.count() == 1


def test_merging_a_survivor_later_flattens_the_tombstone_chain(admin_user) -> None:
    a, b, c = person("13800138001", "甲"), person("13800138002", "甲"), person("13800138003", "甲")
    services.merge_customers(survivor=b, loser=a, actor=admin_user, reason="1")
    services.merge_customers(survivor=c, loser=b, actor=admin_user, reason="2")
    assert Customer.objects.get(pk=a.pk).merged_into_id == c.pk


# --- Transactions --------------------------------------------------------------------------


def test_ingesting_the_same_orders_twice_changes_nothing(unit_a) -> None:
    rows = [
        order(f"O-{n}", f"{n + 1}0.00", [IdentityInput("mobile", f"1380013800{n}")])
        for n in range(5)
    ] + [order("GUEST-1", "9.90")]
    first = services.ingest_transactions(business_unit=unit_a, source="pos", rows=rows)
    counts = (Customer.objects.count(), Transaction.objects.count(), Identity.objects.count())
    second = services.ingest_transactions(business_unit=unit_a, source="pos", rows=rows)
    assert (first.created, first.duplicates, first.customers_created, first.guests) == (6, 0, 5, 1)
    assert (second.created, second.duplicates, second.customers_created) == (0, 6, 0)
    assert counts == (
        Customer.objects.count(),
        Transaction.objects.count(),
        Identity.objects.count(),
    )
    assert Transaction.objects.get(external_id="GUEST-1").customer is None


def test_one_customer_across_batches_and_channels(unit_a, unit_b) -> None:
    rows = [order(f"P-{n}", "10.00", [IdentityInput("mobile", "138 0013 8000")]) for n in range(5)]
    services.ingest_transactions(business_unit=unit_a, source="pos", rows=rows, batch_size=2)
    services.ingest_transactions(
        business_unit=unit_b,
        source="mini",
        rows=[
            order(
                "W-1",
                "20.00",
                [
                    IdentityInput("mobile", "+8613800138000"),
                    IdentityInput("wechat_unionid", "oUx12345678"),
                ],
                channel="wechat_mini",
            )
        ],
    )
    assert Customer.objects.count() == 1
    assert (
        Transaction.objects.filter(customer__isnull=False).values("customer").distinct().count()
        == 1
    )


def test_cancellations_net_against_the_original(unit_a) -> None:
    phone = [IdentityInput("mobile", "13800138000")]
    services.ingest_transactions(
        business_unit=unit_a,
        source="pos",
        rows=[
            order("A-1", "100.00", phone),
            order("A-2", "50.00", phone),
            order("A-1-R", "-30.00", phone, kind="cancellation", original_external_id="A-1"),
            order("A-2-R", "-50.00", [], kind="cancellation", original_external_id="A-2"),
        ],
    )
    a1, a2 = Transaction.objects.get(external_id="A-1"), Transaction.objects.get(external_id="A-2")
    assert a1.status == TransactionStatus.PARTLY_REFUNDED
    assert a2.status == TransactionStatus.REFUNDED
    refund = Transaction.objects.get(external_id="A-2-R")
    assert refund.original == a2 and refund.customer_id == a2.customer_id  # from the original
    total = Transaction.objects.filter(customer=a1.customer).aggregate(t=Sum("amount"))["t"]
    assert total == Decimal("70.00")


def test_bad_rows_are_reported_and_good_rows_kept(unit_a) -> None:
    rows = [
        order("OK-1", "10.00", [IdentityInput("mobile", "13800138000")], line_number=2),
        order("BAD-1", "-5.00", line_number=3),
        order("BAD-2", "5.00", [IdentityInput("mobile", "not a phone")], line_number=4),
        order("BAD-3", "5.00", channel="fax", line_number=5),
        order("BAD-4", "5.00", currency="pounds", line_number=6),
        TransactionInput("BAD-5", datetime(2026, 1, 1), "1", "store", line_number=7),
        order("BAD-6", "abc", line_number=8),
        order("BAD-7", "5", occurred_at=datetime.now(UTC) + timedelta(days=30), line_number=9),
        order("BAD-8", "5", original_external_id="OK-1", line_number=10),
    ]
    result = services.ingest_transactions(business_unit=unit_a, source="pos", rows=rows)
    assert result.created == 1
    assert [(e.line, e.field) for e in result.errors] == [
        (3, "amount"),
        (4, "mobile"),
        (5, "channel"),
        (6, "currency"),
        (7, "occurred_at"),
        (8, "amount"),
        (9, "occurred_at"),
        (10, "original_external_id"),
    ]
    assert all(e.reason for e in result.errors)
    assert Transaction.objects.count() == 1


def test_dry_run_writes_nothing(unit_a) -> None:
    result = services.ingest_transactions(
        business_unit=unit_a,
        source="pos",
        rows=[order("D-1", "1.00", [IdentityInput("mobile", "13800138000")]), order("D-2", "-1")],
        dry_run=True,
    )
    # the prediction of a real run (issue 16: it said 0), and nothing kept
    assert (result.received, result.created, result.rejected) == (2, 1, 1)
    assert result.customers_created == 1
    assert not Transaction.objects.exists() and not Customer.objects.exists()


# --- Consents ------------------------------------------------------------------------------


def test_consent_history_is_kept_and_the_latest_is_the_state(admin_user) -> None:
    from crm.selectors import current_consents

    customer = person("13800138000")
    services.record_consent(
        customer=customer,
        channel="sms",
        purpose="marketing",
        granted=True,
        source="门店",
        occurred_at=WHEN - timedelta(days=10),
    )
    services.record_consent(
        customer=customer,
        channel="sms",
        purpose="marketing",
        granted=False,
        source="短信退订",
        actor=admin_user,
        occurred_at=WHEN,
    )
    services.record_consent(
        customer=customer,
        channel="email",
        purpose="service",
        granted=True,
        source="官网",
        occurred_at=WHEN,
    )
    assert Consent.objects.filter(customer=customer).count() == 3
    state = {(c.channel, c.purpose): c.granted for c in current_consents(customer)}
    assert state == {("sms", "marketing"): False, ("email", "service"): True}
    types = list(
        TimelineEvent.objects.filter(customer=customer, type__startswith="consent.")
        .order_by("occurred_at")
        .values_list("type", flat=True)
    )
    assert types == ["consent.granted", "consent.withdrawn", "consent.granted"]
    with pytest.raises(Exception, match="channel"):
        services.record_consent(
            customer=customer, channel="fax", purpose="marketing", granted=True, source="x"
        )
