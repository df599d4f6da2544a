"""Exports of the filtered customer list: a job writing CSV or XLSX with numbers as numbers,
dates as dates, formulas neutralized, identities masked unless revealed (and then audited),
downloadable by its owner only, purged after a week."""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from crm import exports, services
from crm.exports_customers import customer_columns, customer_rows
from crm.models import Job, JobStatus, PiiAccess
from crm.roles import MEMBER_SERVICE, SALES_REP
from crm.services import IdentityInput, TransactionInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 10, 1, 18, 30, tzinfo=UTC)  # 2 October 02:30 in Shanghai


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def rep(unit_a):
    return UserFactory(roles=[SALES_REP], units=[unit_a])


@pytest.fixture
def desk(unit_a):
    return UserFactory(roles=[MEMBER_SERVICE], units=[unit_a])


@pytest.fixture
def data(unit_a):
    wang = services.resolve_customer(
        identities=[
            IdentityInput("mobile", "13800138000"),
            IdentityInput("email", "wang.wei@example.com"),
        ],
        attributes={"display_name": '=HYPERLINK("http://x","王伟")', "region": "上海"},
        source="test",
    ).customer
    org = services.resolve_customer(
        identities=[IdentityInput("uscc", "91350100M000100Y43")],
        attributes={"display_name": "星辰贸易有限公司"},
        source="test",
    ).customer
    services.ingest_transactions(
        business_unit=unit_a,
        source="pos",
        rows=[
            TransactionInput(
                external_id=f"T{n}",
                occurred_at=WHEN,
                amount=Decimal(amount),
                channel="store",
                identities=[IdentityInput("mobile", "13800138000")],
            )
            for n, amount in enumerate(["1234.50", "100.25"])
        ],
    )
    return wang, org


def run_export(client, user, django_capture_on_commit_callbacks, **form):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("export-start"),
            {"list_key": "crm.customers", "query": "", "format": "csv", **form},
        )
    job = Job.objects.filter(kind=exports.EXPORT_JOB_KIND).latest("created_at")
    assert response["Location"] == reverse("job-detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def read_csv(client, job) -> list[list[str]]:
    response = client.get(reverse("export-download", args=[job.pk]))
    assert response.status_code == 200
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a BOM
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_csv_has_numbers_as_numbers_dates_as_dates_and_masked_identities(
    client, rep, data, django_capture_on_commit_callbacks
):
    wang, org = data
    job = run_export(client, rep, django_capture_on_commit_callbacks)
    rows = read_csv(client, job)
    header, *body = rows
    assert header[0] == "客户编号" and len(header) == 11  # in the starter's language
    keys = [c.label for c in customer_columns(False)]
    with translation.override("en"):
        keys = [str(k) for k in keys]
    by_id = {int(r[0]): dict(zip(keys, r, strict=True)) for r in body}
    row = by_id[wang.pk]
    assert row["Name"] == '\'=HYPERLINK("http://x","王伟")'  # neutralized
    assert row["Phone"] == "138****8000" and row["E-mail"] == "w***@example.com"
    assert row["Net spend (CNY)"] == "1334.75" and row["Purchases"] == "2"
    assert row["Last purchase"] == "2026-10-02"  # the day in Shanghai
    assert row["Added"] == date.today().isoformat() or len(row["Added"]) == 10
    assert by_id[org.pk]["Unified social credit code"] == "91350100M000100Y43"
    assert by_id[org.pk]["Net spend (CNY)"] == "0" and by_id[org.pk]["Purchases"] == "0"
    assert not PiiAccess.objects.exists()
    assert job.result["rows"] == 2


def test_xlsx_cells_are_typed_and_never_formulas(
    client, rep, data, django_capture_on_commit_callbacks
):
    wang, _org = data
    job = run_export(client, rep, django_capture_on_commit_callbacks, format="xlsx")
    response = client.get(reverse("export-download", args=[job.pk]))
    assert response["Content-Disposition"].startswith("attachment")
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book.active
    with translation.override("en"):
        header = [str(c.label) for c in customer_columns(False)]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == wang.pk)
    cells = dict(zip(header, row, strict=True))
    assert cells["Net spend (CNY)"].data_type == "n"
    assert Decimal(str(cells["Net spend (CNY)"].value)) == Decimal("1334.75")
    assert cells["Net spend (CNY)"].number_format == "#,##0.00"
    assert isinstance(cells["Last purchase"].value, datetime)
    assert cells["Last purchase"].value.date() == date(2026, 10, 2)
    assert cells["Name"].data_type == "s" and cells["Name"].value.startswith("'=")
    assert cells["Purchases"].value == 2


def test_the_filter_of_the_list_is_exported(client, rep, data, django_capture_on_commit_callbacks):
    _wang, org = data
    client.force_login(rep)
    job = run_export(
        client, rep, django_capture_on_commit_callbacks, query="kind=organization&after=zz&bogus=1"
    )
    assert job.params["filters"] == {"kind": "organization"}
    assert [int(r[0]) for r in read_csv(client, job)[1:]] == [org.pk]


def test_full_identities_only_for_who_may_reveal_and_audited(
    client, rep, desk, data, django_capture_on_commit_callbacks
):
    wang, org = data
    client.force_login(rep)
    response = client.post(
        reverse("export-start"), {"list_key": "crm.customers", "format": "csv", "reveal": "1"}
    )
    assert response.status_code == 403
    job = run_export(client, desk, django_capture_on_commit_callbacks, reveal="1")
    rows = {int(r[0]): r for r in read_csv(client, job)[1:]}
    assert "138 0013 8000" in rows[wang.pk] and "wang.wei@example.com" in rows[wang.pk]
    audited = PiiAccess.objects.filter(user=desk, identity_type="export")
    assert set(audited.values_list("customer_id", flat=True)) == {wang.pk, org.pk}


def test_download_is_for_the_owner_only(
    client, rep, admin_user, data, django_capture_on_commit_callbacks
):
    job = run_export(client, rep, django_capture_on_commit_callbacks)
    page = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert 'data-testid="export-download"' in page
    url = reverse("export-download", args=[job.pk])
    client.force_login(UserFactory(roles=[SALES_REP]))
    assert client.get(url).status_code == 404
    client.force_login(admin_user)  # sees the job, not the data
    assert client.get(url).status_code == 404
    assert (
        'data-testid="export-download"'
        not in client.get(reverse("job-detail", args=[job.pk])).content.decode()
    )


def test_unknown_list_and_format(client, rep):
    client.force_login(rep)
    url = reverse("export-start")
    assert client.post(url, {"list_key": "nope", "format": "csv"}).status_code == 404
    response = client.post(url, {"list_key": "crm.customers", "format": "pdf"})
    assert response.status_code == 302 and not Job.objects.exists()
    nobody = UserFactory()
    client.force_login(nobody)
    assert client.post(url, {"list_key": "crm.customers", "format": "csv"}).status_code == 404


def test_rows_stream_in_batches_with_one_query_each(
    rep, data, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr("crm.exports_customers.EXPORT_BATCH", 1)
    batches = customer_rows(rep, {}, False)
    with django_assert_num_queries(4):  # the roles and units (scope), the ids, the rows
        assert len(next(batches)) == 1
    with django_assert_num_queries(2):  # the next ids, the rows
        assert len(next(batches)) == 1


def test_housekeeping_purges_old_export_files(
    client, rep, data, django_capture_on_commit_callbacks
):
    job = run_export(client, rep, django_capture_on_commit_callbacks)
    path = exports.export_file(job)
    assert path is not None and oct(path.stat().st_mode & 0o777) == "0o600"
    assert exports.purge_old_exports() == 0
    old = time.time() - 8 * 24 * 3600
    os.utime(path, (old, old))
    with django_capture_on_commit_callbacks(execute=True):
        housekeeping = services.start_job(kind="crm.housekeeping", user=rep)
    housekeeping.refresh_from_db()
    assert housekeeping.result["exports_deleted"] == 1
    assert not path.exists()
    assert client.get(reverse("export-download", args=[job.pk])).status_code == 404
