"""The dry run predicts the real run: the same counts, errors and warnings on the same file,
nothing kept; and orders that look stored already under another source are warned about."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm import imports, services
from crm.models import Customer, Identity, Job, JobStatus, Transaction
from tests.crm.import_files import _english_in_own_var, csv_bytes  # noqa: F401

HEADER = ["订单号", "下单时间", "金额", "类型", "原订单号", "手机", "会员号"]
LINE_HEADER = [*HEADER[:2], *HEADER[3:], "商品编码", "数量", "单价"]


def run(unit, data, *, source="pos", dry_run=False, batch_size=1000):
    return imports.run_transaction_import(
        business_unit=unit,
        source=source,
        data=data,
        filename="orders.csv",
        channel="store",
        dry_run=dry_run,
        batch_size=batch_size,
    )


def stored_state():
    return (
        Customer.objects.count(),
        Identity.objects.count(),
        sorted(
            Transaction.objects.values_list(
                "source", "external_id", "amount", "status", "original_id", "customer_id"
            )
        ),
    )


# --- The same orders under two sources --------------------------------------------------------

ORDERS = [
    ["536365", "2010-12-01 08:26", "139.12", "", "", "", "17850"],
    ["536366", "2010-12-01 08:28", "22.20", "", "", "", "17850"],
    ["536367", "2010-12-01 08:34", "278.73", "", "", "13800138000", ""],
    ["536368", "2010-12-01 08:34", "70.05", "", "", "", ""],
]


def test_the_same_orders_under_a_second_source_are_warned_about_before_anything_is_written(
    unit_a, unit_b
):
    run(unit_a, csv_bytes(HEADER, ORDERS), source="online_retail")
    before = stored_state()

    checked = run(unit_a, csv_bytes(HEADER, ORDERS), source="shop", dry_run=True)

    assert stored_state() == before
    warnings = {w["code"]: w for w in checked["warnings"]}
    assert warnings["other_source"]["count"] == 4
    assert warnings["other_source"]["lines"] == [2, 3, 4, 5]
    assert "online_retail" in warnings["other_source"]["message"]
    assert checked["created"] == 4 and checked["customers_created"] == 1  # shop:17850 is new
    assert checked["customers_matched"] == 1  # the mobile is known
    # Another unit holds no such orders: nothing to warn about there.
    assert run(unit_b, csv_bytes(HEADER, ORDERS), source="shop", dry_run=True)["warnings"] == []


def test_the_same_customer_time_and_amount_under_new_order_ids_is_warned_about(unit_a):
    run(unit_a, csv_bytes(HEADER, ORDERS), source="online_retail")
    renumbered = [["WEB-" + row[0], *row[1:]] for row in ORDERS]
    renumbered[1][2] = "22.21"  # not the same amount: not the same purchase

    result = run(unit_a, csv_bytes(HEADER, renumbered), source="shop")

    # The member number is another source's (shop:17850), the mobile is shared: only the
    # mobile's order matches by customer, time and amount.
    assert [(w["code"], w["count"], w["lines"]) for w in result["warnings"]] == [
        ("same_purchase", 1, [4])
    ]
    assert "online_retail" in result["warnings"][0]["message"]


# --- Prediction = outcome -----------------------------------------------------------------------

BASE = [
    ["O1", "2024-05-01 10:00", "100", "", "", "13800138000", ""],
    ["O2", "2024-05-01 11:00", "50", "", "", "", ""],
    ["C7", "2024-05-05 11:00", "-20", "退货", "O4", "", ""],  # waits for O4
]
IDS = [f"O{n}" for n in range(1, 7)]
MOBILES = ["13800138000", "13900139000", "13700137000", ""]
MEMBERS = ["", "", "501", "502"]
TIMES = ["2024-05-01 10:00", "2024-05-01 11:00", "2024-05-02 09:30", "yesterday"]


@st.composite
def order_rows(draw):
    kind = draw(st.sampled_from(["", "", "退货"]))
    amount = draw(st.sampled_from(["100", "50", "12.5", "30", "x"]))
    if kind:
        amount = "-" + amount
    return [
        draw(st.sampled_from([*IDS, "C8", "C9"])),
        draw(st.sampled_from(TIMES)),
        amount,
        kind,
        draw(st.sampled_from(IDS)) if kind else "",
        draw(st.sampled_from(MOBILES)),
        draw(st.sampled_from(MEMBERS)),
    ]


@st.composite
def line_rows(draw):
    quantity = draw(st.sampled_from(["1", "2", "-1", "0"]))
    return [
        draw(st.sampled_from(IDS)),
        draw(st.sampled_from(TIMES[:3])),
        "",
        "",
        draw(st.sampled_from(MOBILES)),
        "",
        draw(st.sampled_from(["A", "B"])),
        quantity,
        draw(st.sampled_from(["10", "2.5", "abc"])),
    ]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    line_level=st.booleans(),
    rows=st.data(),
    batch_size=st.sampled_from([1, 2, 1000]),
    source=st.sampled_from(["pos", "erp"]),
)
def test_the_dry_run_predicts_the_real_run(unit_a, line_level, rows, batch_size, source):
    header = LINE_HEADER if line_level else HEADER
    drawn = rows.draw(st.lists(line_rows() if line_level else order_rows(), max_size=12))
    data = csv_bytes(header, drawn)
    with transaction.atomic():  # each example starts from the same stored state
        run(unit_a, csv_bytes(HEADER, BASE), source="pos")
        before = stored_state()

        predicted = run(unit_a, data, source=source, dry_run=True, batch_size=batch_size)

        assert stored_state() == before
        outcome = run(unit_a, data, source=source, batch_size=batch_size)
        assert predicted == outcome
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_job_reports_the_prediction_and_keeps_nothing(admin_user, unit_a):
    rows = [[f"J-{n}", "2024-05-01 10:00", "10", "", "", f"138{n:08d}", ""] for n in range(1200)]
    name = imports.store_upload([csv_bytes(HEADER, rows)], filename="orders.csv")

    job = services.start_job(
        kind=imports.IMPORT_JOB_KIND,
        params={
            "upload": name,
            "filename": "orders.csv",
            "business_unit_id": unit_a.pk,
            "source": "pos",
            "channel": "store",
            "dry_run": True,
            "options": imports.ImportOptions(time_zone="Europe/London").as_dict(),
        },
        user=admin_user,
        business_unit=unit_a,
    )

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.result["created"], job.result["customers_created"]) == (1200, 1200)
    assert job.result["time_zone"] == "Europe/London" and job.result["dry_run"] is True
    assert "1,200" in job.message or "1200" in job.message  # progress written outside
    assert not Transaction.objects.exists() and not Customer.objects.exists()
    assert Job.objects.filter(pk=job.pk, progress=100).exists()
