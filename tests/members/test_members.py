"""Enrolment, merge, levels over time, four-eyes adjustments, automatic earning from
ingested orders, and the desk's reads with pinned query counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from crm import services as crm_services
from crm.models import BlacklistEntry, TimelineEvent
from crm.services import IdentityInput, TransactionInput
from members import selectors, services
from members.errors import CustomerBlacklisted, NotAllowed
from members.models import (
    AdjustmentProposal,
    AdjustmentStatus,
    EntryKind,
    Level,
    LevelChange,
    Member,
    PointsEntry,
)
from members.numbers import is_valid_number, luhn_digit, qr_value
from tests.members.conftest import assert_ledger_consistent, next_phone

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_luhn_catches_a_wrong_digit_and_a_swap() -> None:
    assert luhn_digit("7992739871") == "3"  # the textbook example
    body = "812345678"
    number = body + luhn_digit(body)
    assert is_valid_number(number)
    assert not is_valid_number(number[:-1] + str((int(number[-1]) + 1) % 10))
    swapped = number[:3] + number[4] + number[3] + number[5:]  # 2 and 3 swapped
    assert not is_valid_number(swapped)


def test_enrol_returns_the_existing_member_and_refuses_the_blacklisted(
    make_member, unit_a, unit_b
) -> None:
    phone = next_phone()
    member = make_member(phone=phone)
    assert is_valid_number(member.number)
    assert member.level.rank == 0
    again = services.enrol_member(
        business_unit=unit_b, channel="tmall", identities=[IdentityInput("mobile", phone)]
    )
    assert not again.created and again.member.pk == member.pk
    other = crm_services.resolve_customer(
        identities=[IdentityInput("mobile", next_phone())],
        attributes={"display_name": "李四"},
        source="crm",
    ).customer
    BlacklistEntry.objects.create(
        customer=other, reason="fraud", evidence="伪造", status="active", decided_at=timezone.now()
    )
    with pytest.raises(CustomerBlacklisted) as exc:
        services.enrol_member(business_unit=unit_a, channel="store", customer=other)
    assert exc.value.code == "customer_blacklisted"
    assert not Member.objects.filter(customer=other).exists()


def test_enrolment_bonus_and_first_purchase_in_another_unit(make_member, rules, unit_a, unit_b):
    rules["a"].enrolment_bonus = 100
    rules["a"].save()
    rules["b"].first_purchase_bonus = 50
    rules["b"].save()
    member = make_member()
    assert member.points_balance == 100
    first = services.earn_points(
        member=member, business_unit=unit_b, reference="B1", amount=Decimal("10")
    )
    second = services.earn_points(
        member=member, business_unit=unit_b, reference="B2", amount=Decimal("10")
    )
    assert first.points == 60 and second.points == 10
    assert_ledger_consistent(member)


def test_caps_and_rounding(make_member, rules, unit_a) -> None:
    rule = rules["a"]
    rule.points_per_unit, rule.rounding = Decimal("0.1"), "half_up"
    rule.cap_per_transaction, rule.cap_per_day = 30, 40
    rule.save()
    member = make_member()
    earn = lambda ref, amount: services.earn_points(  # noqa: E731
        member=member, business_unit=unit_a, reference=ref, amount=Decimal(amount)
    ).points
    assert earn("1", "15") == 2  # 1.5 rounds half up
    assert earn("2", "1000") == 30  # per transaction cap
    assert earn("3", "1000") == 8  # what is left of the day's 40
    assert earn("4", "1000") == 0


def test_merge_keeps_the_sum_the_number_and_the_higher_level(
    make_member, unit_a, unit_b, admin_user
) -> None:
    survivor, loser = make_member(), make_member()
    services.earn_points(member=survivor, business_unit=unit_a, reference="S", amount=Decimal(70))
    services.earn_points(member=loser, business_unit=unit_b, reference="L", amount=Decimal(2500))
    services.redeem_points(member=loser, business_unit=unit_a, points=100, reference="LR")
    loser.refresh_from_db()
    survivor.refresh_from_db()
    assert loser.level.code == "silver" and survivor.level.code == "basic"
    total = survivor.points_balance + loser.points_balance
    entry_ids = set(PointsEntry.objects.filter(member=loser).values_list("id", flat=True))

    crm_services.merge_customers(
        survivor=survivor.customer, loser=loser.customer, actor=admin_user, reason="同一人"
    )

    survivor.refresh_from_db()
    loser.refresh_from_db()
    assert survivor.points_balance == total
    assert_ledger_consistent(survivor)
    assert loser.merged_into_id == survivor.pk and loser.status == "closed"
    assert (
        set(
            PointsEntry.objects.filter(member=survivor, id__in=entry_ids).values_list(
                "id", flat=True
            )
        )
        == entry_ids
    )
    assert survivor.level.code == "silver"
    assert selectors.member_by_number(loser.number).pk == survivor.pk
    assert selectors.member_by_qr(qr_value(loser.number)).pk == survivor.pk
    # The loser's old member id still reaches the survivor.
    result = services.redeem_points(
        member=loser.pk, business_unit=unit_a, points=1, reference="AFTER"
    )
    assert result.member.pk == survivor.pk


def test_upgrade_now_downgrade_at_evaluation_after_the_grace(make_member, unit_a) -> None:
    start = datetime(2026, 1, 10, 10, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False):
        member = make_member()
        services.earn_points(
            member=member, business_unit=unit_a, reference="BIG", amount=Decimal(2500)
        )
        member.refresh_from_db()
        assert member.level.code == "silver"
        assert LevelChange.objects.filter(member=member, reason="upgrade").count() == 1
    with time_machine.travel(start + timedelta(days=200), tick=False):
        assert services.evaluate_levels() == {"upgraded": 0, "downgraded": 0}
    with time_machine.travel(start + timedelta(days=370), tick=False):
        # The window no longer holds the big order and the grace (90 days) is over.
        assert services.evaluate_levels() == {"upgraded": 0, "downgraded": 1}
        member.refresh_from_db()
        assert member.level.code == "basic"
        assert services.evaluate_levels() == {"upgraded": 0, "downgraded": 0}
    changes = TimelineEvent.objects.filter(customer=member.customer, type="member.level_changed")
    assert changes.count() == 2


def test_large_adjustment_needs_another_approver(make_member, unit_a, desk, steward) -> None:
    member = make_member()
    small = services.adjust_points(
        member=member, business_unit=unit_a, points=200, reason="补录", user=desk
    )
    assert small.entry.kind == EntryKind.ADJUST
    proposal = services.adjust_points(
        member=member, business_unit=unit_a, points=5000, reason="活动补偿", user=desk
    )
    assert isinstance(proposal, AdjustmentProposal)
    member.refresh_from_db()
    assert member.points_balance == 200
    with pytest.raises(NotAllowed):
        services.approve_adjustment(proposal=proposal, user=desk)  # no permission
    approved = services.approve_adjustment(proposal=proposal, user=steward)
    assert approved.status == AdjustmentStatus.APPROVED and approved.entry.points == 5000
    member.refresh_from_db()
    assert member.points_balance == 5200
    assert_ledger_consistent(member)


def test_ingested_orders_earn_after_commit_and_a_cancellation_reverses(
    make_member, unit_a, django_capture_on_commit_callbacks
) -> None:
    phone = next_phone()
    member = make_member(phone=phone)
    when = timezone.now()
    order = TransactionInput(
        external_id="POS-1",
        occurred_at=when,
        amount="200.00",
        channel="store",
        identities=[IdentityInput("mobile", phone)],
    )
    with django_capture_on_commit_callbacks(execute=True):
        crm_services.ingest_transaction(business_unit=unit_a, source="pos", row=order)
    member.refresh_from_db()
    assert member.points_balance == 200
    # The same order through the earn API (same unit, same order id) does not earn again.
    assert services.earn_points(
        member=member, business_unit=unit_a, reference="POS-1", amount=Decimal("200.00")
    ).replayed
    refund = TransactionInput(
        external_id="POS-1-R",
        occurred_at=when,
        amount="-50.00",
        channel="store",
        kind="cancellation",
        original_external_id="POS-1",
    )
    with django_capture_on_commit_callbacks(execute=True):
        crm_services.ingest_transaction(business_unit=unit_a, source="pos", row=refund)
    member.refresh_from_db()
    assert member.points_balance == 150
    assert PointsEntry.objects.get(member=member, kind=EntryKind.REVERSE).points == -50
    entries = PointsEntry.objects.filter(member=member).count()
    services.earn_for_transactions(list(member.customer.transactions.values_list("pk", flat=True)))
    assert PointsEntry.objects.filter(member=member).count() == entries
    member.refresh_from_db()
    assert member.points_balance == 150  # the task run again changes nothing


def test_desk_reads_in_constant_queries(
    make_member, unit_a, desk, django_assert_num_queries
) -> None:
    phone = next_phone()
    member = make_member(phone=phone, attributes={"display_name": "王小明"})
    for n in range(30):
        services.earn_points(
            member=member, business_unit=unit_a, reference=f"O{n}", amount=Decimal(10)
        )
    desk.has_perm("crm.view_customer")  # the user's permissions load once per request
    with django_assert_num_queries(1):
        assert selectors.member_by_number(member.number).pk == member.pk
    with django_assert_num_queries(1):
        found = selectors.find_members(user=desk, query=phone[-4:])
    assert [m.pk for m in found.rows] == [member.pk]
    with django_assert_num_queries(1):
        assert [m.pk for m in selectors.find_members(user=desk, query="小明").rows] == [member.pk]
    member = Member.objects.select_related("level").get(pk=member.pk)
    with django_assert_num_queries(3):
        summary = selectors.member_summary(member)
    assert summary.balance == 300 and summary.progress.next_level.code == "silver"
    with django_assert_num_queries(1):
        page = selectors.ledger_page(member, page_size=10)
    with django_assert_num_queries(1):
        second = selectors.ledger_page(member, page_size=10, after=page.next_cursor)
    assert len(page.rows) == len(second.rows) == 10
    assert {e.pk for e in page.rows}.isdisjoint({e.pk for e in second.rows})
    liability = {row.code: row for row in selectors.points_liability()}
    assert liability[unit_a.code].outstanding == 300
    assert liability[unit_a.code].value == Decimal("3.00")
    assert Level.objects.count() == 4
