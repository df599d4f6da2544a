"""The bulk path = the service path: the same file imported once through each (on the same
stored state) gives the same result (counts, errors, warnings) and the same stored rows
(customers, identities, orders, lines, links, timeline events, duplicate candidates)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm import imports, services
from crm.models import Customer, DuplicateCandidate, Identity, TimelineEvent, Transaction
from crm.services import IdentityInput, transaction_bulk
from tests.crm.import_files import _english_in_own_var, csv_bytes  # noqa: F401

HEADER = ["订单号", "下单时间", "金额", "类型", "原订单号", "手机", "会员号", "姓名"]
LINE_HEADER = [*HEADER[:2], *HEADER[3:], "商品编码", "数量", "单价"]


def run(unit, data, *, source="pos", bulk=True, batch_size=1000, dry_run=False):
    outcome = imports.import_table(
        imports.read_upload(data, filename="orders.csv"),
        business_unit=unit,
        source=source,
        channel="store",
        batch_size=batch_size,
        bulk=bulk,
        dry_run=dry_run,
    )
    return outcome.as_dict(max_errors=10_000)


def stored_rows():
    """Everything an import writes, without ids (sequences differ between the two runs)."""
    identities: dict[int, tuple] = {}
    for customer, type_, value, verified in Identity.objects.values_list(
        "customer_id", "type", "value", "verified"
    ):
        identities.setdefault(customer, ())
        identities[customer] = tuple(sorted((*identities[customer], (type_, value, verified))))
    customers = {
        c.pk: (identities.get(c.pk, ()), c.display_name) for c in Customer.objects.order_by("pk")
    }

    def who(pk):
        return customers.get(pk) if pk is not None else None

    external = dict(Transaction.objects.values_list("pk", "external_id"))
    return {
        "customers": sorted(
            (
                who(c.pk),
                c.name_is_generated,
                c.kind,
                c.source,
                c.region,
                who(c.merged_into_id),
            )
            for c in Customer.objects.all()
        ),
        "transactions": sorted(
            (
                t.source,
                t.external_id,
                t.business_unit_id,
                who(t.customer_id),
                t.kind,
                t.status,
                t.channel,
                t.amount,
                t.currency,
                t.occurred_at,
                t.lines,
                external.get(t.original_id),
                t.original_external_id,
            )
            for t in Transaction.objects.all()
        ),
        "events": sorted(
            (who(e.customer_id), e.type, e.summary, e.business_unit_id)
            for e in TimelineEvent.objects.all()
        ),
        "candidates": sorted(
            (who(d.customer_a_id), who(d.customer_b_id), d.reason, d.status)
            for d in DuplicateCandidate.objects.all()
        ),
    }


def both_paths(unit, data, *, source="pos", batch_size=1000, history=()):
    """The file through each path on the same stored state (``history`` imported first
    through the service path); each run rolled back after it was read."""
    seen = []
    for bulk in (False, True):
        with transaction.atomic():
            for past_source, past in history:
                run(unit, past, source=past_source, bulk=False)
            result = run(unit, data, source=source, bulk=bulk, batch_size=batch_size)
            seen.append((result, stored_rows()))
            transaction.set_rollback(True)
    (service, service_rows), (bulk, bulk_rows) = seen
    assert bulk == service
    assert bulk_rows == service_rows
    return bulk


HISTORY = [
    (
        "pos",
        [
            ["O1", "2024-05-01 10:00", "100", "", "", "13800138000", "", ""],
            ["O2", "2024-05-01 11:00", "50", "", "", "", "501", "Li Lei"],
            ["C7", "2024-05-05 11:00", "-20", "退货", "O4", "", "", ""],  # waits for O4
            ["X1", "2024-05-03 09:00", "80", "", "", "13700137000", "", ""],
        ],
    ),
    (
        "erp",
        [
            ["E1", "2024-05-02 09:30", "30", "", "", "13900139000", "", ""],
            ["O5", "2024-05-01 10:00", "12.5", "", "", "13800138000", "", ""],
        ],
    ),
]


def history_files():
    return [(source, csv_bytes(HEADER, rows)) for source, rows in HISTORY]


def test_a_crafted_order_file_gives_the_same_result_and_rows_through_both_paths(unit_a):
    rows = [
        ["N1", "2024-05-06 10:00", "10", "", "", "13600136000", "", "Han Meimei"],  # new
        ["N2", "2024-05-06 11:00", "20", "", "", "13600136000", "601", ""],  # joins N1's
        ["N3", "2024-05-06 12:00", "30", "", "", "", "601", ""],
        ["K1", "2024-05-06 10:00", "40", "", "", "13800138000", "", "Wang"],  # known
        ["O1", "2024-05-01 10:00", "100", "", "", "13800138000", "", ""],  # duplicate
        ["O2", "2024-05-01 11:00", "55", "", "", "", "501", ""],  # conflict: amount
        ["A1", "2024-05-06 10:00", "10", "", "", "13800138000", "501", ""],  # two customers
        ["O4", "2024-05-04 10:00", "60", "", "", "13900139000", "", ""],  # C7 waits for it
        ["C9", "2024-05-07 10:00", "-10", "退货", "K1", "", "", ""],  # refunds K1
        ["C10", "2024-05-07 10:00", "-10", "退货", "N9", "", "", ""],  # waits
        ["G1", "2024-05-06 10:00", "15", "", "", "", "", ""],  # guest
        ["E1", "2024-05-02 09:30", "30", "", "", "13900139000", "", ""],  # under erp too
        ["W1", "2024-05-01 10:00", "12.5", "", "", "13800138000", "", ""],  # same purchase
        ["B1", "yesterday", "10", "", "", "", "", ""],  # bad date
        ["B2", "2024-05-06 10:00", "-5", "", "", "", "", ""],  # negative purchase
        ["N1", "2024-05-06 10:00", "10", "", "", "13600136000", "", ""],  # repeated: same
    ]
    for batch_size in (1000, 3, 1):
        result = both_paths(
            unit_a, csv_bytes(HEADER, rows), batch_size=batch_size, history=history_files()
        )
    assert result["customers_created"] == 1 and result["duplicates"] == 2
    assert {w["code"] for w in result["warnings"]} >= {"other_source", "same_purchase"}
    assert len(result["errors"]) >= 3


def test_a_line_level_file_gives_the_same_result_through_both_paths(unit_a):
    rows = []
    for order in range(40):
        for line in range(3):
            member = "" if order % 7 == 0 else str(700 + order % 9)
            rows.append(
                [
                    f"L{order}",
                    f"2024-05-0{1 + order % 5} 10:00",
                    "",
                    "",
                    "",
                    member,
                    "",
                    f"SKU{line}",
                    str(-1 if order % 11 == 5 else 1 + line),
                    "2.50",
                ]
            )
    result = both_paths(unit_a, csv_bytes(LINE_HEADER, rows), batch_size=7)
    assert result["created"] == 40 and result["lines"] == 120


IDS = [f"O{n}" for n in range(1, 9)]
MOBILES = ["13800138000", "13900139000", "13700137000", "13600136000", ""]
MEMBERS = ["", "", "501", "502", "503"]
TIMES = ["2024-05-01 10:00", "2024-05-01 11:00", "2024-05-02 09:30", "yesterday"]


@st.composite
def order_rows(draw):
    kind = draw(st.sampled_from(["", "", "", "退货"]))
    amount = draw(st.sampled_from(["100", "50", "12.5", "30", "x"]))
    if kind:
        amount = "-" + amount
    return [
        draw(st.sampled_from([*IDS, "C8", "C9", "N1", "N2", "N3"])),
        draw(st.sampled_from(TIMES)),
        amount,
        kind,
        draw(st.sampled_from(["", *IDS])) if kind else "",
        draw(st.sampled_from(MOBILES)),
        draw(st.sampled_from(MEMBERS)),
        draw(st.sampled_from(["", "", "Zhang"])),
    ]


@st.composite
def line_rows(draw):
    return [
        draw(st.sampled_from([*IDS, "N1", "N2"])),
        draw(st.sampled_from(TIMES[:3])),
        "",
        "",
        draw(st.sampled_from(MOBILES)),
        draw(st.sampled_from(MEMBERS)),
        "",
        draw(st.sampled_from(["A", "B"])),
        draw(st.sampled_from(["1", "2", "-1", "0"])),
        draw(st.sampled_from(["10", "2.5", "abc"])),
    ]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    line_level=st.booleans(),
    rows=st.data(),
    batch_size=st.sampled_from([1, 2, 3, 1000]),
    chunk_rows=st.sampled_from([1, 4, 20_000]),
    source=st.sampled_from(["pos", "erp", "shop"]),
)
def test_generated_files_give_the_same_result_and_rows_through_both_paths(
    unit_a, monkeypatch, line_level, rows, batch_size, chunk_rows, source
):
    monkeypatch.setattr(transaction_bulk, "CHUNK_ROWS", chunk_rows)
    header = LINE_HEADER if line_level else HEADER
    drawn = rows.draw(st.lists(line_rows() if line_level else order_rows(), max_size=14))
    both_paths(
        unit_a,
        csv_bytes(header, drawn),
        source=source,
        batch_size=batch_size,
        history=history_files(),
    )


def test_a_merged_customers_identities_lead_to_the_survivor_on_the_bulk_path(unit_a):
    survivor = services.resolve_customer(
        identities=[IdentityInput("mobile", "13800138000")], source="pos", business_unit=unit_a
    ).customer
    merged = services.resolve_customer(
        identities=[IdentityInput("mobile", "13900139000")], source="pos", business_unit=unit_a
    ).customer
    services.merge_customers(survivor=survivor, loser=merged, actor=None, reason="the same person")
    rows = [["M1", "2024-05-06 10:00", "10", "", "", "13900139000", "", ""]]

    result = both_paths(unit_a, csv_bytes(HEADER, rows))

    assert result["customers_matched"] == 1
    assert Transaction.objects.count() == 0  # both runs rolled back


@pytest.mark.django_db(transaction=True)
def test_two_bulk_imports_of_overlapping_files_at_once_make_each_customer_once(unit_a):
    def file(start):
        return csv_bytes(
            HEADER,
            [
                [f"P{n}", "2024-05-06 10:00", "10", "", "", f"1380000{n % 400:04d}", "", ""]
                for n in range(start, start + 1500)
            ],
        )

    errors = []
    barrier = threading.Barrier(2)

    def work(start):
        try:
            barrier.wait()
            run(unit_a, file(start), batch_size=500)
        except Exception as exc:  # reported below; a thread's exception is lost otherwise
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(s,)) for s in (0, 700)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert Transaction.objects.count() == 2200  # P700..P1499 once
    live = Customer.objects.filter(merged_into__isnull=True)
    assert live.count() == 400
    assert Identity.objects.count() == 400
    assert Identity.objects.values("customer").distinct().count() == 400


def test_plain_batches_are_written_set_based_in_a_few_statements(unit_a):
    from django.test.utils import CaptureQueriesContext

    rows = [
        [f"S{n}", "2024-05-06 10:00", "10", "", "", f"1380000{n % 50:04d}", "", ""]
        for n in range(300)
    ]
    data = csv_bytes(HEADER, rows)
    counted = {}
    for bulk in (False, True):
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            result = run(unit_a, data, bulk=bulk, batch_size=10)
            transaction.set_rollback(True)
        assert (result["created"], result["customers_created"]) == (300, 50)
        counted[bulk] = len(queries)

    # 30 batches: the service path pays five or more statements each, the bulk path one
    # lookup of each kind and one write of each kind for the whole chunk.
    assert counted[False] >= 30 * 5
    assert counted[True] <= 16


@pytest.mark.django_db(transaction=True)
def test_a_bulk_dry_run_does_not_hold_the_customers_it_matches(unit_a, monkeypatch):
    from datetime import UTC, datetime

    from crm.services import TransactionInput

    monkeypatch.setattr(transaction_bulk, "CHUNK_ROWS", 1)  # one order a chunk
    known = services.resolve_customer(
        identities=[IdentityInput("mobile", "13800138000")], source="pos", business_unit=unit_a
    ).customer
    rows = [
        TransactionInput(
            external_id=f"D{n}",
            occurred_at=datetime(2024, 5, 6, 10, n, tzinfo=UTC),
            amount="10",
            channel="store",
            identities=[IdentityInput("mobile", "13800138000")],
        )
        for n in range(3)
    ]
    edits = []

    def edit_meanwhile(received):
        # Another session edits the matched customer while the dry run is still open.
        def work():
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '2s'")
                    cursor.execute(
                        "UPDATE crm_customer SET display_name = %s WHERE id = %s",
                        [f"edited {received}", known.pk],
                    )
                edits.append(received)
            except Exception as exc:  # reported by the assertion below
                edits.append(repr(exc))
            finally:
                connection.close()

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()

    result = services.ingest_transactions_bulk(
        business_unit=unit_a,
        source="pos",
        rows=rows,
        batch_size=1,
        dry_run=True,
        progress=edit_meanwhile,
    )

    assert result.created == 3 and result.customers_matched == 1
    assert edits == [1, 2, 3]  # never waited for the dry run (lock_timeout would raise)
    assert not Transaction.objects.exists()
