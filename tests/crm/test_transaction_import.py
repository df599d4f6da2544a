"""Transaction import: encodings, XLSX, dry run, per-row errors, the command, the screen."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from crm import imports, services
from crm.jobs import JobCancelled
from crm.models import Customer, Job, JobStatus, Transaction, TransactionStatus
from crm.roles import MARKETING
from crm.services import RowError, TransactionInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HEADER = ["订单号", "下单时间", "金额", "渠道", "手机", "姓名", "类型", "原订单号"]
GOOD_ROWS = [
    ["A-1", "2024-05-01 10:00", "100.00", "门店", "13800138000", "王伟", "购买", ""],
    ["A-2", "2024/5/2 11:30", "59.90", "天猫", "13900139000", "刘䶮", "购买", ""],
    ["A-3", "2024-05-03T09:00:00+08:00", "-100.00", "", "13800138000", "王伟", "退货", "A-1"],
]
# line 2 is fine, then one broken row per reason, then a fine row again (line 7)
MIXED_ROWS = [
    ["B-1", "2024-05-01 10:00", "10", "store", "13800138000", "王伟", "", ""],
    ["B-2", "yesterday-ish", "10", "store", "", "", "", ""],
    ["=HYPERLINK(1)", "2024-05-01 10:00", "ten yuan", "store", "", "", "", ""],
    ["B-4", "2024-05-01 10:00", "10", "store", "12345", "", "", ""],
    ["B-5", "2024-05-01 10:00", "10", "moon", "", "", "", ""],
    ["B-6", "2024-05-01 10:00", "￥1,234.50", "jd", "", "", "", ""],
]
MIXED_ERRORS = [(3, "occurred_at"), (4, "amount"), (5, "mobile"), (6, "channel")]


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def csv_bytes(rows, *, encoding="utf-8", header=HEADER) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run(unit, data, *, filename="orders.csv", source="pos", dry_run=False, **kwargs):
    return imports.run_transaction_import(
        business_unit=unit,
        source=source,
        data=data,
        filename=filename,
        channel=kwargs.pop("channel", "store"),
        dry_run=dry_run,
        **kwargs,
    )


def lines_and_fields(result):
    return [(e["line"], e["field"]) for e in result["errors"]]


# --- Encodings and formats -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030")],
)
def test_utf8_bom_and_gb18030_files_import_identically(unit_a, encoding, detected):
    result = run(unit_a, csv_bytes(GOOD_ROWS, encoding=encoding))

    assert result["encoding"] == detected and result["format"] == "csv"
    assert {k: result[k] for k in ("received", "created", "customers_created", "rejected")} == {
        "received": 3,
        "created": 3,
        "customers_created": 2,
        "rejected": 0,
    }
    assert result["cancellations_linked"] == 1
    assert sorted(Customer.objects.values_list("display_name", flat=True)) == ["刘䶮", "王伟"]
    first = Transaction.objects.get(source="pos", external_id="A-1")
    assert first.status == TransactionStatus.REFUNDED and first.customer.display_name == "王伟"
    second = Transaction.objects.get(external_id="A-2")
    assert second.amount == Decimal("59.90") and second.channel == "tmall"
    assert second.occurred_at == datetime.fromisoformat("2024-05-02T11:30+08:00")


def test_gbk_file_with_plain_ascii_first_64_kb_is_still_detected(unit_a):
    filler = [
        [f"F-{n}", "2024-05-01 10:00", "1", "store", "", "guest", "", ""] for n in range(4000)
    ]
    data = csv_bytes([*filler, ["Z-1", "2024-05-01 10:00", "5", "store", "", "王伟", "", ""]])
    data = data.decode().encode("gbk")
    assert len(data) > imports.SNIFF_BYTES

    table = imports.read_table(io.BytesIO(data), filename="big.csv", size=len(data))

    assert table.encoding == "gb18030"
    assert sum(1 for _ in table.rows) == 4001


def test_a_file_in_another_encoding_is_refused_with_a_clear_message(unit_a):
    with pytest.raises(imports.ImportFileError, match="GB18030"):
        imports.decode_upload(b"\x80\xff\x80\xff broken")
    with pytest.raises(imports.ImportFileError):
        run(unit_a, b"\x80\xff\x80\xff broken")


def test_xlsx_import_with_excel_types(unit_a):
    rows = [
        ["X-1", datetime(2024, 5, 1, 10, 0), 100, "门店", 13800138000, "王伟", "购买", None],
        ["X-2", "2024-05-02 11:30", 59.9, "jd", None, None, None, None],
        ["X-3", "not a date", 1, "jd", None, None, None, None],
    ]

    result = run(unit_a, xlsx_bytes(rows), filename="orders.xlsx")

    assert result["format"] == "xlsx"
    assert (result["created"], result["guests"], result["customers_created"]) == (2, 1, 1)
    assert lines_and_fields(result) == [(4, "occurred_at")]
    stored = Transaction.objects.get(external_id="X-1")
    assert stored.amount == Decimal("100.00") and stored.customer.display_name == "王伟"
    assert stored.occurred_at == datetime.fromisoformat("2024-05-01T10:00+08:00")
    assert Transaction.objects.get(external_id="X-2").amount == Decimal("59.90")


def test_xlsx_that_unpacks_too_big_is_refused_before_parsing(unit_a, monkeypatch):
    monkeypatch.setattr(imports.files, "MAX_XLSX_UNPACKED_BYTES", 1000)
    with translation.override("en"), pytest.raises(imports.ImportFileError, match="unpacks"):
        run(unit_a, xlsx_bytes(GOOD_ROWS), filename="orders.xlsx")
    assert not Transaction.objects.exists()


def test_zip_that_is_not_a_workbook_is_refused(unit_a):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(imports.ImportFileError):
        run(unit_a, out.getvalue(), filename="orders.xlsx")


def test_missing_required_column_is_a_file_error(unit_a):
    data = csv_bytes([["A-1", "100"]], header=["order_id", "amount"])
    with pytest.raises(imports.ImportFileError, match="occurred_at"):
        run(unit_a, data)


def test_english_headers_and_blank_lines_keep_spreadsheet_line_numbers(unit_a):
    text = (
        "External ID,Occurred at,Amount,E-mail\r\n"
        "E-1,2024-05-01 10:00,12.5,li.na@example.com\r\n"
        "\r\n"
        "E-2,2024-05-01 10:00,oops,\r\n"
    )
    result = run(unit_a, text.encode())
    assert result["created"] == 1
    assert lines_and_fields(result) == [(4, "amount")]


# --- Dry run, per-row errors, idempotency --------------------------------------------------


def test_per_row_errors_carry_line_field_and_reason_and_valid_rows_are_kept(unit_a):
    result = run(unit_a, csv_bytes(MIXED_ROWS))

    assert lines_and_fields(result) == MIXED_ERRORS
    assert all(e["reason"] for e in result["errors"])
    assert result["errors"][1]["external_id"] == "=HYPERLINK(1)"
    assert (result["received"], result["created"], result["rejected"]) == (6, 2, 4)
    assert set(Transaction.objects.values_list("external_id", flat=True)) == {"B-1", "B-6"}
    assert Transaction.objects.get(external_id="B-6").amount == Decimal("1234.50")


def test_a_purchase_naming_an_original_order_is_a_row_error(unit_a):
    rows = [
        ["P-1", "2024-05-01 10:00", "10", "", "", "", "购买", ""],
        ["P-2", "2024-05-01 11:00", "10", "", "", "", "购买", "P-1"],
        ["P-3", "2024-05-01 12:00", "-10", "", "", "", "退货", "P-1"],
    ]
    result = run(unit_a, csv_bytes(rows))
    assert lines_and_fields(result) == [(3, "original_external_id")]
    assert (result["created"], result["cancellations_linked"]) == (2, 1)


def test_a_plain_member_number_is_the_customer_id_in_the_import_source(unit_a):
    header = ["订单号", "下单时间", "金额", "会员号"]
    rows = [
        ["M-1", "2024-05-01 10:00", "10", "12923"],
        ["M-2", "2024-05-01 11:00", "10", "ERP:C-1024"],  # already source:id, kept
        ["M-3", "2024-05-01 12:00", "10", 12923],  # the same member again
    ]
    result = run(unit_a, csv_bytes(rows, header=header), source="pos")

    assert result["errors"] == [] and result["created"] == 3
    member = Transaction.objects.get(external_id="M-1").customer
    assert list(member.identities.values_list("type", "value")) == [("external", "pos:12923")]
    assert Transaction.objects.get(external_id="M-3").customer == member
    other = Transaction.objects.get(external_id="M-2").customer
    assert list(other.identities.values_list("value", flat=True)) == ["erp:C-1024"]
    cells = {"external_id": "M-4", "occurred_at": "2024-05-01", "amount": "1"}
    mapped = imports.map_row({**cells, "customer_external_id": " 7 "}, line=2, channel="store")
    assert mapped.identities[0].value == "7"  # without a source: left to the service to refuse


def test_dry_run_writes_nothing_but_reports_the_same_errors(unit_a):
    data = csv_bytes(MIXED_ROWS)

    checked = run(unit_a, data, dry_run=True)

    assert not Transaction.objects.exists() and not Customer.objects.exists()
    assert checked["created"] == 2 and checked["received"] == 6  # the prediction
    imported = run(unit_a, data)
    assert checked == imported
    assert imported["created"] == 2


def test_importing_the_same_file_twice_creates_nothing_the_second_time(unit_a):
    data = csv_bytes(GOOD_ROWS)
    first = run(unit_a, data)
    second = run(unit_a, data)
    assert first["created"] == 3
    assert (second["created"], second["duplicates"], second["customers_created"]) == (0, 3, 0)
    assert Transaction.objects.count() == 3


@pytest.mark.parametrize(
    "text",
    ['[{"a": NaN}]', '[{"a": 1e400}]', '[{"a": "\\u0000"}]', '[{"a": "\\ud800"}]', "[1]", "[[["],
)
def test_order_lines_jsonb_cannot_hold_are_row_errors(text):
    cells = {"external_id": "L-1", "occurred_at": "2024-05-01", "amount": "1", "lines": text}
    mapped = imports.map_row(cells, line=7, channel="store")
    assert isinstance(mapped, RowError) and (mapped.line, mapped.field) == (7, "lines")


def test_order_lines_are_stored(unit_a):
    lines = '[{"sku": "A-1", "qty": 2, "price": 9.9, "note": "\\ud83d\\ude00 礼盒"}]'
    data = csv_bytes(
        [["L-1", "2024-05-01", "19.80", lines]], header=["单号", "时间", "金额", "明细"]
    )
    assert run(unit_a, data)["created"] == 1
    stored = Transaction.objects.get(external_id="L-1").lines
    assert stored == [{"sku": "A-1", "qty": 2, "price": 9.9, "note": "😀 礼盒"}]


def test_error_report_neutralizes_formulas():
    report = imports.error_report_csv(
        [
            RowError(4, "amount", "bad", "=HYPERLINK(1)"),
            RowError(5, "name", "+SUM(A1)", "@x"),
            RowError(6, "name", "-1", "\tcmd"),
        ]
    ).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(report)))
    assert rows[1][3] == "'=HYPERLINK(1)"
    assert rows[2][2:] == ["'+SUM(A1)", "'@x"]
    assert rows[3][2:] == ["'-1", "'\tcmd"]


# --- The background job -------------------------------------------------------------------


class StopAt:
    """A job context that asks to cancel once ``rows`` rows have been read."""

    def __init__(self, params, rows):
        self.params, self.rows, self.calls = params, rows, []

    def progress(self, percent, message=""):
        self.calls.append(percent)
        if str(self.rows) in message.replace(",", ""):
            raise JobCancelled

    def check_cancelled(self):
        pass


def test_a_cancelled_import_keeps_stored_batches_and_deletes_the_upload(
    unit_a, tmp_path, monkeypatch
):
    from crm.services import transaction_bulk

    monkeypatch.setattr(transaction_bulk, "CHUNK_ROWS", 1000)  # a chunk of one batch
    rows = [[f"K-{n}", "2024-05-01 10:00", "1", "", "", "", "", ""] for n in range(2500)]
    name = imports.store_upload([csv_bytes(rows)], filename="orders.csv")
    params = {"upload": name, "filename": "orders.csv", "business_unit_id": unit_a.pk}
    ctx = StopAt({**params, "source": "pos", "channel": "store"}, rows=2000)

    with pytest.raises(JobCancelled):
        imports.import_transactions_job(ctx)

    assert Transaction.objects.count() == 1000  # the first batch; the second was never stored
    assert ctx.calls == sorted(ctx.calls) and not (tmp_path / "imports" / name).exists()


def test_a_job_whose_upload_is_gone_fails_with_a_message(
    admin_user, unit_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.start_job(
            kind=imports.IMPORT_JOB_KIND,
            params={"upload": "0" * 32 + ".csv", "business_unit_id": unit_a.pk, "source": "pos"},
            user=admin_user,
            business_unit=unit_a,
        )
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == job.message
    assert "Internal" not in job.error and "内部" not in job.error


def test_stale_uploads_are_purged(tmp_path):
    name = imports.store_upload([b"x"], filename="a.csv")
    assert imports.purge_stale_uploads(older_than_seconds=3600) == 0
    assert imports.purge_stale_uploads(older_than_seconds=-1) == 1
    assert not (tmp_path / "imports" / name).exists()
    with pytest.raises(imports.ImportFileError):
        imports.upload_path("../../etc/passwd")


# --- Management command --------------------------------------------------------------------


def test_management_command_imports_a_generated_gbk_csv(unit_a, tmp_path):
    rows = [
        [f"C-{n}", "2024-05-01 10:00", f"{n}.50", "", f"138{n:08d}", "王伟", "", ""]
        for n in range(2500)
    ]
    rows[10][2] = "abc"
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes(rows, encoding="gbk"))
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "import_transactions",
        str(path),
        "--unit",
        unit_a.code.lower(),
        "--source",
        "pos",
        "--channel",
        "erp",
        "--batch-size",
        "1000",
        stdout=out,
        stderr=err,
    )

    assert Transaction.objects.filter(channel="erp").count() == 2499
    output = out.getvalue()
    assert "gb18030" in output and "created=2499" in output and "rejected=1" in output
    assert "line 12, amount [C-10]" in output
    assert "rows read" in err.getvalue()


def test_management_command_stops_where_a_big_file_changes_encoding(unit_a, tmp_path, monkeypatch):
    from crm.services import transaction_bulk

    monkeypatch.setattr(transaction_bulk, "CHUNK_ROWS", 1000)  # a chunk of one batch
    head = csv_bytes([["U-0", "2024-05-01 10:00", "1", "", "", "王伟", "", ""]])
    filler = b"".join(b"F-%d,2024-05-01 10:00,1,,,guest,,\r\n" % n for n in range(3000))
    path = tmp_path / "mixed.csv"
    path.write_bytes(head + filler + "G-1,2024-05-01 10:00,1,,,王伟,,\r\n".encode("gbk"))

    with pytest.raises(CommandError, match="utf-8"):
        call_command(
            "import_transactions",
            str(path),
            unit=unit_a.code,
            source="pos",
            batch_size=1000,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    stored = Transaction.objects.count()  # whole batches read before the decoder hit the bytes
    assert stored % 1000 == 0 and 0 < stored < 3001


def test_management_command_dry_run_and_errors_csv(unit_a, tmp_path):
    path = tmp_path / "orders.xlsx"
    path.write_bytes(xlsx_bytes(MIXED_ROWS))
    report = tmp_path / "errors.csv"
    out = io.StringIO()

    call_command(
        "import_transactions",
        str(path),
        unit=unit_a.code,
        source="pos",
        dry_run=True,
        errors_csv=str(report),
        stdout=out,
        stderr=io.StringIO(),
    )

    assert not Transaction.objects.exists()
    assert "Dry run" in out.getvalue()
    lines = list(csv.reader(io.StringIO(report.read_bytes().decode("utf-8-sig"))))
    assert [row[0] for row in lines[1:]] == [str(line) for line, _ in MIXED_ERRORS]


def test_management_command_fails_on_unreadable_files(unit_a, tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\x80\xff\x80\xff" * 10)
    with pytest.raises(CommandError, match="GB18030"):
        call_command("import_transactions", str(broken), unit=unit_a.code, source="pos")
    with pytest.raises(CommandError, match="Cannot open"):
        call_command(
            "import_transactions", str(tmp_path / "nope.csv"), unit=unit_a.code, source="pos"
        )
    with pytest.raises(CommandError, match="business unit"):
        call_command("import_transactions", str(broken), unit="NOPE", source="pos")


# --- The screen ----------------------------------------------------------------------------


def upload(client, unit, data, *, name="orders.csv", dry_run=False, callbacks=None):
    payload = {
        "business_unit": unit.pk,
        "source": "pos",
        "channel": "store",
        "file": SimpleUploadedFile(name, data),
    }
    response = client.post(reverse("transaction-import"), payload)
    if response.status_code != 302:
        return response
    # the mapping step (crm/web/imports.py), submitted as proposed from the known headers
    form = client.get(response.url).context["form"]
    proposed = {name: form[name].value() for name in form.fields}
    answer = {k: "" if v is None else v for k, v in proposed.items()}
    with callbacks(execute=True):
        return client.post(response.url, {**answer, "action": "dry_run" if dry_run else "import"})


def test_upload_runs_the_job_and_the_job_page_shows_the_errors(
    client, admin_user, unit_a, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    assert client.get(reverse("transaction-import")).status_code == 200

    response = upload(
        client,
        unit_a,
        csv_bytes(MIXED_ROWS, encoding="gbk"),
        callbacks=django_capture_on_commit_callbacks,
    )

    job = Job.objects.get(kind=imports.IMPORT_JOB_KIND)
    assert response.status_code == 302 and response.url == reverse("job-detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED and job.business_unit == unit_a
    assert job.result["created"] == 2 and job.result["encoding"] == "gb18030"
    assert not list((tmp_path / "imports").iterdir())  # the upload is gone
    page = client.get(response.url).content.decode()
    assert 'data-testid="import-errors"' in page
    for line, field in MIXED_ERRORS:
        assert f'<td class="font-monospace">{line}</td>' in page
        assert f'<code class="small">{field}</code>' in page  # after the column's name

    partial = client.get(
        reverse("transaction-import-result", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    assert partial.status_code == 200 and "hx-get" not in partial.content.decode()
    download = client.get(reverse("transaction-import-result", args=[job.pk]), {"download": "csv"})
    assert download["Content-Type"].startswith("text/csv")
    assert "'=HYPERLINK(1)" in download.getvalue().decode("utf-8-sig")


def test_dry_run_upload_saves_nothing_and_says_so(
    client, admin_user, unit_a, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    response = upload(
        client,
        unit_a,
        xlsx_bytes(MIXED_ROWS),
        name="orders.xlsx",
        dry_run=True,
        callbacks=django_capture_on_commit_callbacks,
    )
    assert not Transaction.objects.exists()
    page = client.get(response.url).content.decode()
    assert 'data-testid="import-dry-run"' in page and 'data-testid="import-errors"' in page


def test_upload_form_refuses_other_files_and_invisible_units(
    client, unit_a, unit_b, django_capture_on_commit_callbacks
):
    marketer = UserFactory(roles=[MARKETING], units=[unit_a])
    client.force_login(marketer)

    wrong_type = upload(
        client, unit_a, b"%PDF", name="orders.pdf", callbacks=django_capture_on_commit_callbacks
    )
    other_unit = upload(
        client, unit_b, csv_bytes(GOOD_ROWS), callbacks=django_capture_on_commit_callbacks
    )

    assert wrong_type.status_code == 200 and wrong_type.context["form"].errors["file"]
    assert other_unit.status_code == 200 and other_unit.context["form"].errors["business_unit"]
    assert not Job.objects.exists()


def test_import_needs_the_add_transaction_permission(client, rep_a, unit_a):
    client.force_login(rep_a)
    assert client.get(reverse("transaction-import")).status_code == 403
    response = client.post(
        reverse("transaction-import"),
        {"business_unit": unit_a.pk, "source": "pos", "channel": "store"},
    )
    assert response.status_code == 403
    assert not Job.objects.exists()


# --- The row mapper ------------------------------------------------------------------------

CELLS = st.one_of(
    st.text(),
    st.none(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(),
    st.booleans(),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=CELLS, occurred_at=CELLS, other=st.text(), line=st.integers(2, 10**6))
def test_row_mapper_turns_any_cell_into_an_input_or_a_row_error(amount, occurred_at, other, line):
    cells = {"external_id": other, "amount": amount, "occurred_at": occurred_at, "lines": other}
    for column in ("channel", "kind", "currency", "mobile", "name"):
        cells[column] = other

    mapped = imports.map_row(cells, line=line, channel="store")

    assert isinstance(mapped, TransactionInput | RowError)
    if isinstance(mapped, RowError):
        assert mapped.line == line and mapped.field in imports.COLUMNS and mapped.reason
    else:
        assert mapped.occurred_at.tzinfo is not None and mapped.line_number == line
        assert isinstance(mapped.amount, Decimal) and mapped.amount.is_finite()


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2))
def test_amounts_round_trip(amount):
    assert imports.parse_amount(f"{amount:,}") == amount


TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(
        st.tuples(
            TEXT,
            st.one_of(TEXT, st.sampled_from(["2024-05-01 10:00", "2024/5/1", "2024-05-01T10:00Z"])),
            st.one_of(TEXT, st.decimals(-1000, 1000, places=2).map(str)),
            st.one_of(TEXT, st.sampled_from(["store", "天猫", ""])),
            st.one_of(TEXT, st.sampled_from(["13800138000", "+86 139 0013 9000", ""])),
            TEXT,
            st.one_of(TEXT, st.sampled_from(["购买", "退货", "cancellation"])),
            st.one_of(TEXT, st.sampled_from(["A-1", ""])),
        ).map(list),
        max_size=8,
    )
)
def test_any_text_file_imports_without_crashing(unit_a, rows):
    result = run(unit_a, csv_bytes(rows), source="fuzz")

    filled = [r for r in rows if any(c.strip(" \t\r\n\x00") for c in r)]
    assert result["received"] <= len(filled)
    assert result["created"] + result["duplicates"] + result["rejected"] == result["received"]
    assert all(e["line"] and e["field"] and e["reason"] for e in result["errors"])
