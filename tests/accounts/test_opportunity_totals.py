"""The board's column heads read ``OpportunityTotal``, kept by the opportunity services in
their own transaction. After any sequence of creates, moves (closing as won or lost
included), edits of amount / currency / expected close, reassignments and a merge of two
organizations, the maintained totals equal a recomputation from the opportunities; the
board's sums and the weighted forecast equal the opportunities' own; the migration's backfill and
``rebuild_opportunity_totals`` give the same rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from unittest.mock import patch

import pytest
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import selectors, services
from accounts.models import Opportunity, OpportunityStage, OpportunityTotal
from accounts.selectors import PipelineFilter
from accounts.selectors import pipeline as pipeline_selectors
from crm.services import merge_customers
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def maintained() -> dict[tuple, tuple[int, Decimal]]:
    return {
        (t.business_unit_id, t.currency, t.owner_id, t.stage_id, t.month): (t.count, t.amount)
        for t in OpportunityTotal.objects.exclude(count=0, amount=0)
    }


def recomputed() -> dict[tuple, tuple[int, Decimal]]:
    rows = (
        Opportunity.objects.annotate(month=TruncMonth("expected_close"))
        .values("business_unit_id", "currency", "owner_id", "stage_id", "month")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by()
    )
    return {
        (r["business_unit_id"], r["currency"], r["owner_id"], r["stage_id"], r["month"]): (
            r["n"],
            r["total"],
        )
        for r in rows
    }


def summed(user, filters, stages) -> list[tuple[int, int, Decimal]]:
    rows = {
        r["stage_id"]: r
        for r in selectors.pipeline_opportunities(user=user, filters=filters)
        .values("stage_id")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by()
    }
    return [
        (s.pk, rows.get(s.pk, {}).get("n", 0), rows.get(s.pk, {}).get("total") or Decimal(0))
        for s in stages
    ]


AMOUNTS = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False)
CLOSES = st.one_of(st.none(), st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)))
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 5), AMOUNTS, CLOSES, st.integers(0, 1)),
        st.tuples(st.just("move"), st.integers(0, 50), st.integers(0, 5)),
        st.tuples(st.just("amount"), st.integers(0, 50), AMOUNTS),
        st.tuples(st.just("close"), st.integers(0, 50), CLOSES),
        st.tuples(st.just("currency"), st.integers(0, 50), st.sampled_from(["CNY", "USD"])),
        st.tuples(st.just("reassign"), st.integers(0, 50), st.integers(0, 1)),
        st.tuples(st.just("merge")),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_maintained_totals_equal_a_recomputation_after_any_sequence(
    operations, make_account, rep_a, manager_a, unit_a
):
    reps = [rep_a, UserFactory(roles=["sales_rep"], units=[unit_a])]
    stages = list(OpportunityStage.objects.filter(is_active=True))
    with transaction.atomic():
        accounts = [make_account("甲公司"), make_account("乙公司")]
        made: list[Opportunity] = []
        merged = False
        for op in operations:
            kind, *args = op
            if kind == "create":
                stage = stages[args[0] % len(stages)]
                if stage.is_lost:
                    stage = stages[0]
                made.append(
                    services.create_opportunity(
                        account=accounts[args[3] if not merged else 0],
                        name="商机",
                        owner=reps[args[3]],
                        business_unit=unit_a,
                        user=rep_a,
                        amount=args[1],
                        stage=stage,
                        expected_close=args[2],
                    )
                )
            elif kind == "merge":
                if not merged:
                    merge_customers(
                        survivor=accounts[0].customer,
                        loser=accounts[1].customer,
                        actor=rep_a,
                        reason="同一家",
                    )
                    merged = True
            elif made:
                o = made[args[0] % len(made)]
                if kind == "move":
                    services.move_opportunity(
                        opportunity=o,
                        stage=stages[args[1] % len(stages)],
                        user=rep_a,
                        lost_reason="预算取消",
                    )
                elif kind == "amount":
                    services.update_opportunity(
                        opportunity=o, user=rep_a, fields={"amount": args[1]}
                    )
                elif kind == "close":
                    services.update_opportunity(
                        opportunity=o, user=rep_a, fields={"expected_close": args[1]}
                    )
                elif kind == "currency":
                    services.update_opportunity(
                        opportunity=o, user=rep_a, fields={"currency": args[1]}
                    )
                else:
                    services.reassign_opportunity(
                        opportunity=o, owner=reps[args[1]], user=manager_a
                    )
            assert maintained() == recomputed(), op
        # The board's column heads, from the totals, equal the opportunities' own sums.
        for owner in (None, reps[1].pk):
            for start, end in ((None, None), (date(2026, 3, 1), date(2027, 2, 28))):
                filters = PipelineFilter(owner_id=owner, close_from=start, close_to=end)
                heads = selectors.stage_sums(user=manager_a, filters=filters)
                assert [(h["stage"].pk, h["count"], h["amount"]) for h in heads] == summed(
                    manager_a, filters, stages
                )
        # The forecast from the totals equals the forecast summed from the opportunities.
        for group in selectors.GROUPINGS:
            kept = selectors.weighted_forecast(user=manager_a, group_by=group)
            with patch.object(pipeline_selectors, "_whole_months", lambda _filters: False):
                direct = selectors.weighted_forecast(user=manager_a, group_by=group)
            assert kept == direct, group
        transaction.set_rollback(True)


def test_rebuild_and_the_backfill_give_the_maintained_rows(make_account, rep_a, unit_a, stages):
    account = make_account()
    for i, stage in enumerate(["qualification", "proposal", "won", "proposal"]):
        services.create_opportunity(
            account=account,
            name=f"商机{i}",
            owner=rep_a,
            business_unit=unit_a,
            user=rep_a,
            amount=Decimal(1000 * (i + 1)),
            stage=stages[stage],
            expected_close=date(2027, 1 + i, 15) if i else None,
        )
    kept = maintained()
    assert kept == recomputed() and len(kept) == 4
    OpportunityTotal.objects.all().delete()
    assert services.rebuild_opportunity_totals() == 4
    assert maintained() == kept
    # The migration's statement (0006) is the same as the service's.
    from importlib import import_module

    migration = import_module("accounts.migrations.0006_opportunity_totals")
    assert " ".join(migration.BACKFILL.split()) == " ".join(
        services.opportunities.REBUILD_TOTALS_SQL.split()
    )
