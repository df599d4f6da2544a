"""The hot path's plumbing (``members.services.hotpath`` through ``crm.prepared``): what a
refusal leaves on the connection, and the statements without server-side preparation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction

from members import services
from members.errors import InsufficientPoints
from members.models import PointsEntry
from tests.members.conftest import assert_ledger_consistent


def _prepared_on_server() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_refusal_keeps_the_connections_prepared_statements(make_member, unit_a) -> None:
    """A refused redemption commits its empty transaction instead of rolling it back: a
    rollback made psycopg deallocate every statement prepared on the connection, so the next
    POS request planned them all again."""
    member = make_member()
    services.earn_points(member=member, business_unit=unit_a, reference="O-1", amount=50)
    services.redeem_points(member=member, business_unit=unit_a, points=10, reference="R-1")
    prepared = _prepared_on_server()
    assert prepared >= 3  # the lock (two shapes: with and without the rule), earn, redeem
    with pytest.raises(InsufficientPoints):
        services.redeem_points(member=member, business_unit=unit_a, points=999, reference="R-2")
    assert _prepared_on_server() == prepared
    services.redeem_points(member=member, business_unit=unit_a, points=5, reference="R-3")
    assert _prepared_on_server() == prepared
    member.refresh_from_db()
    assert member.points_balance == 35
    assert_ledger_consistent(member)


@pytest.mark.django_db
def test_a_refusal_inside_a_callers_transaction_leaves_it_usable(make_member, unit_a) -> None:
    """No savepoint around the service: a refusal (nothing written) is raised after the
    service's block, so the caller's transaction goes on and commits what it wrote."""
    member = make_member()
    with transaction.atomic():
        services.earn_points(member=member, business_unit=unit_a, reference="O-1", amount=20)
        with pytest.raises(InsufficientPoints):
            services.redeem_points(member=member, business_unit=unit_a, points=21, reference="R-1")
        assert not connection.needs_rollback
        services.redeem_points(member=member, business_unit=unit_a, points=20, reference="R-2")
    assert PointsEntry.objects.filter(member=member).count() == 2
    member.refresh_from_db()
    assert member.points_balance == 0


@pytest.mark.django_db(transaction=True)
def test_earn_and_redeem_without_prepared_statements(settings, make_member, unit_a) -> None:
    """Behind a proxy without prepared statements (``PREPARED_STATEMENTS=false``) the same
    statements run through Django's own cursor."""
    settings.PREPARED_STATEMENTS = False
    member = make_member()
    earned = services.earn_points(
        member=member, business_unit=unit_a, reference="O-1", amount=Decimal("30")
    )
    redeemed = services.redeem_points(
        member=member, business_unit=unit_a, points=12, reference="R-1"
    )
    assert (earned.points, redeemed.points, redeemed.balance) == (30, -12, 18)
    assert_ledger_consistent(member)


@pytest.mark.django_db(transaction=True)
def test_the_statements_are_planned_once_per_connection(make_member, unit_a, unit_b) -> None:
    """After PostgreSQL's five custom plans, the lock, the earn and the redeem run on their
    generic plan: the earn's level windows were an array parameter (assumed 10 rows) and the
    freshness checks did not repeat the reference index's condition, so the generic plan
    looked dearer and every earn was planned again (~0.8 ms of the server's CPU each)."""
    members = [make_member() for _ in range(3)]
    with connection.cursor() as cursor:
        # Statistics as of this test's rows: those left by earlier tests in the same database
        # (other sizes, since truncated) would make the planner's choice depend on the order.
        cursor.execute("ANALYZE")
    for i in range(12):
        member = members[i % 3]
        services.earn_points(
            member=member, business_unit=unit_a, reference=f"O-{i}", amount=Decimal("40")
        )
        services.redeem_points(member=member, business_unit=unit_b, points=5, reference=f"R-{i}")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT left(statement, 30), generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE generic_plans + custom_plans >= 10"
        )
        plans = cursor.fetchall()
    assert len(plans) == 3, plans  # the lock, the earn, the redeem
    for statement, generic, custom in plans:
        assert custom <= 5 and generic >= 5, (statement, generic, custom)
