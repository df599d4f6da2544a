"""The transaction import screens: upload, column mapping, dry run, import, saved mappings,
the template, every error in a file, permissions and the mapping step's query count."""

from __future__ import annotations

import csv
import io
import os
import time
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from crm import imports
from crm.imports import reports
from crm.imports.drafts import ImportDraft
from crm.imports.template import TEMPLATE_COLUMNS
from crm.models import ImportMapping, Job, JobStatus, Transaction
from crm.roles import MARKETING
from crm.selectors import source_names
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# "单据编号", "实收" and "客户" are no known header: the mapping step asks for them.
UNKNOWN_HEADER = ["单据编号", "下单时间", "实收", "手机", "客户"]
ROWS = [
    ["S-1", "2024-05-01 10:00", "100.00", "13800138000", "王伟"],
    ["S-2", "2024-05-02 11:30", "59.90", "13900139000", "刘洋"],
    ["S-3", "2024-05-03 09:00", "20.00", "13800138000", "王伟"],
]
FULL_MAPPING = {
    "col_external_id": "0",
    "col_occurred_at": "1",
    "col_amount": "2",
    "col_mobile": "3",
    "col_name": "4",
}


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def importer(unit_a):
    return UserFactory(username="importer", roles=[MARKETING], units=[unit_a])


def csv_bytes(rows, *, header=UNKNOWN_HEADER, encoding="gbk") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode(encoding)


def upload(client, unit, data, *, name="orders.csv", source="pos"):
    return client.post(
        reverse("transaction-import"),
        {
            "business_unit": unit.pk,
            "source": source,
            "channel": "store",
            "file": SimpleUploadedFile(name, data),
        },
    )


def mapping_post(**fields):
    return {
        "decimal_mark": ".",
        "time_zone": "Asia/Shanghai",
        "currency": "CNY",
        "save_as": "",
        **FULL_MAPPING,
        **fields,
    }


def selected(form, column):
    return form[f"col_{column}"].value()


def uploads(tmp_path):
    folder = tmp_path / "imports"
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []


# --- The flow ------------------------------------------------------------------------------


def test_gbk_file_with_unknown_headers_is_mapped_dry_run_then_imported(
    client, importer, unit_a, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(importer)
    response = upload(client, unit_a, csv_bytes(ROWS))
    assert response.status_code == 302
    map_url = response.url
    assert not Job.objects.exists()  # nothing starts before the columns are mapped

    page = client.get(map_url)
    form = page.context["form"]
    # known names are filled in, the rest waits for a choice
    assert selected(form, "occurred_at") == 1 and selected(form, "mobile") == 3
    assert selected(form, "external_id") is None and selected(form, "amount") is None
    html = page.content.decode()
    assert "单据编号" in html and 'data-testid="import-preview-table"' in html
    assert "王伟" in html and "13800138000" not in html  # identities masked in the preview
    assert page.context["inspection"].encoding == "gb18030"

    # unmapped required columns are refused with an error on each of them
    refused = client.post(
        map_url, mapping_post(col_external_id="", col_amount="", action="dry_run")
    )
    assert refused.status_code == 200
    assert set(refused.context["form"].errors) == {"col_external_id", "col_amount"}
    assert not Job.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        dry = client.post(map_url, mapping_post(action="dry_run"))
    job = Job.objects.get()
    assert dry.url == reverse("job-detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED and job.result["dry_run"] is True
    assert job.params["options"]["mapping"] == {
        "external_id": 0,
        "occurred_at": 1,
        "amount": 2,
        "mobile": 3,
        "name": 4,
    }
    assert not Transaction.objects.exists()
    assert uploads(tmp_path) == [job.params["kept_upload"]]  # kept for the import

    result_page = client.get(dry.url).content.decode()
    assert 'data-testid="import-confirm"' in result_page
    assert 'data-testid="import-options"' in result_page and "Asia/Shanghai" in result_page
    assert "单据编号" in result_page  # the columns read

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(reverse("transaction-import-confirm", args=[job.pk]))
    real = Job.objects.exclude(pk=job.pk).get()
    assert confirmed.url == reverse("job-detail", args=[real.pk])
    assert real.status == JobStatus.SUCCEEDED and real.result["dry_run"] is False
    assert real.params["options"] == job.params["options"]
    assert Transaction.objects.filter(business_unit=unit_a).count() == 3
    assert uploads(tmp_path) == []  # the import used the kept file and deleted it

    # the same dry run cannot be imported twice, and the mapping step's file is gone
    again = client.post(reverse("transaction-import-confirm", args=[job.pk]))
    assert again.url == reverse("job-detail", args=[real.pk])
    assert Job.objects.count() == 2
    assert client.get(map_url).url == reverse("transaction-import")


def test_import_without_dry_run_starts_at_once(
    client, importer, unit_a, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(importer)
    map_url = upload(client, unit_a, csv_bytes(ROWS, encoding="utf-8")).url
    with django_capture_on_commit_callbacks(execute=True):
        client.post(map_url, mapping_post(action="import"))
    job = Job.objects.get()
    assert job.result["created"] == 3 and not job.params["kept_upload"]
    assert uploads(tmp_path) == []


def test_preview_follows_the_chosen_columns(client, importer, unit_a):
    client.force_login(importer)
    map_url = upload(client, unit_a, csv_bytes(ROWS)).url
    partial = client.post(
        map_url, {"col_external_id": "0", "col_amount": "2"}, HTTP_HX_REQUEST="true"
    )
    html = partial.content.decode()
    assert partial.status_code == 200 and "<html" not in html
    assert "S-1" in html and "59.90" in html and "刘洋" not in html


def test_bu_time_zone_is_the_default_and_currency_needed_without_a_currency_column(
    client, importer, unit_a
):
    unit_a.time_zone = "Europe/London"
    unit_a.save(update_fields=["time_zone"])
    client.force_login(importer)
    map_url = upload(client, unit_a, csv_bytes(ROWS)).url
    form = client.get(map_url).context["form"]
    assert form["time_zone"].value() == "Europe/London"

    missing = client.post(map_url, mapping_post(currency="", action="dry_run"))
    assert "currency" in missing.context["form"].errors
    wrong = client.post(map_url, mapping_post(currency="RMB1", action="dry_run"))
    assert "currency" in wrong.context["form"].errors


def test_one_header_cannot_be_mapped_twice(client, importer, unit_a):
    client.force_login(importer)
    map_url = upload(client, unit_a, csv_bytes(ROWS)).url
    response = client.post(map_url, mapping_post(col_name="3", action="dry_run"))
    errors = response.context["form"].errors
    assert list(errors) == ["col_name"] and "手机" in errors["col_name"][0]
    assert not Job.objects.exists()


def test_decimal_comma_is_proposed_with_its_evidence(client, importer, unit_a):
    client.force_login(importer)
    rows = [
        ["S-1", "2024-05-01 10:00", "12,50", "", ""],
        ["S-2", "2024-05-01 10:00", "1.234,50", "", ""],
    ]
    header = ["订单号", "下单时间", "金额", "手机", "姓名"]
    page = client.get(upload(client, unit_a, csv_bytes(rows, header=header)).url)
    assert page.context["form"]["decimal_mark"].value() == ","
    assert page.context["evidence"].comma == 2
    assert 'data-testid="import-decimal-evidence"' in page.content.decode()


def test_an_unreadable_file_is_refused_at_the_upload(client, importer, unit_a, tmp_path):
    client.force_login(importer)
    response = upload(client, unit_a, b"", name="empty.csv")
    assert response.status_code == 200 and response.context["form"].errors["file"]
    assert uploads(tmp_path) == []


# --- Saved mappings ------------------------------------------------------------------------


def test_a_saved_mapping_is_proposed_for_the_same_headers(
    client, importer, unit_a, unit_b, django_capture_on_commit_callbacks
):
    client.force_login(importer)
    map_url = upload(client, unit_a, csv_bytes(ROWS)).url
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            map_url,
            mapping_post(
                save_as="门店导出", decimal_mark=",", time_zone="Asia/Tokyo", action="dry_run"
            ),
        )
    saved = ImportMapping.objects.get()
    assert (saved.business_unit, saved.kind, saved.name) == (unit_a, "transactions", "门店导出")
    assert saved.mapping["external_id"] == "单据编号" and saved.created_by == importer
    assert Job.objects.get().params["options"]["extra"]["mapping_name"] == "门店导出"

    # the same headers next time: every choice comes back
    page = client.get(upload(client, unit_a, csv_bytes(ROWS[:1])).url)
    form = page.context["form"]
    assert page.context["chosen_mapping"] == saved
    assert [selected(form, c) for c in ("external_id", "amount", "name")] == [0, 2, 4]
    assert form["decimal_mark"].value() == "," and form["time_zone"].value() == "Asia/Tokyo"

    # columns in another order: picked by name from the list, matched by header text
    moved = [UNKNOWN_HEADER[i] for i in (4, 3, 2, 1, 0)]
    url = upload(client, unit_a, csv_bytes([], header=moved)).url
    assert client.get(url).context["chosen_mapping"] is None
    form = client.get(url, {"mapping": saved.pk}).context["form"]
    assert selected(form, "external_id") == 4 and selected(form, "name") == 0

    # saving under the same name replaces it; another unit does not see it
    client.post(
        url,
        mapping_post(
            col_external_id="4",
            col_occurred_at="3",
            col_amount="2",
            col_mobile="1",
            col_name="0",
            save_as="门店导出",
            action="dry_run",
        ),
    )
    assert ImportMapping.objects.count() == 1
    boss = UserFactory(roles=[MARKETING], units=[unit_b])
    client.force_login(boss)
    page = client.get(upload(client, unit_b, csv_bytes(ROWS)).url)
    assert page.context["saved_mappings"] == [] and page.context["chosen_mapping"] is None


# --- The template --------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_template_imports_cleanly(
    client, importer, unit_a, language, fmt, django_capture_on_commit_callbacks
):
    importer.language = language
    importer.save(update_fields=["language"])
    client.force_login(importer)
    with translation.override(language):
        download = client.get(reverse("transaction-import-template", args=[fmt]))
    assert download.status_code == 200
    body = download.content
    if fmt == "csv":
        assert body.startswith(b"\xef\xbb\xbf")
        header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    else:
        header = [c.value for c in next(load_workbook(io.BytesIO(body)).active.iter_rows())]
    assert ("订单号" in header) == (language == "zh-hans")
    assert ("external_id" in header) == (language == "en")

    with translation.override(language):
        map_url = upload(client, unit_a, body, name=f"template.{fmt}").url
        form = client.get(map_url).context["form"]
        assert all(form[f"col_{c}"].value() is not None for c in TEMPLATE_COLUMNS)
        post = {f"col_{c}": str(form[f"col_{c}"].value()) for c in TEMPLATE_COLUMNS}
        with django_capture_on_commit_callbacks(execute=True):
            client.post(map_url, {**mapping_post(), **post, "action": "import"})
    result = Job.objects.get().result
    assert (result["created"], result["lines"], result["rejected"]) == (3, 4, 0)
    assert result["cancellations_linked"] == 1 and not result["warnings"]
    two_lines = Transaction.objects.get(external_id="T-0001")
    assert two_lines.amount == Decimal("1234.50") and len(two_lines.lines) == 2


# --- Every error in a file -----------------------------------------------------------------


def test_the_error_file_holds_every_rejected_row(
    client, importer, unit_a, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(importer)
    bad = [[f"=E{n}", "not a date", "1", "", ""] for n in range(250)]
    map_url = upload(client, unit_a, csv_bytes([*bad, ROWS[0]])).url
    with django_capture_on_commit_callbacks(execute=True):
        client.post(map_url, mapping_post(action="dry_run"))
    job = Job.objects.get()
    assert job.result["rejected"] == 250 and len(job.result["errors"]) == 200
    assert job.result["error_report"]["not_shown"] == 50

    page = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert 'data-testid="import-errors-more"' in page and "50" in page
    download = client.get(reverse("transaction-import-result", args=[job.pk]), {"download": "csv"})
    text = download.getvalue().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 251 and rows[-1][0] == "251"
    assert {row[3] for row in rows[1:]} == {f"'=E{n}" for n in range(250)}  # formulas quoted

    path = reports.report_path(job.pk)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # housekeeping deletes reports after ERROR_REPORT_DAYS
    assert reports.purge_error_reports() == 0 and path.exists()
    old = time.time() - (reports.ERROR_REPORT_DAYS + 1) * 24 * 3600
    os.utime(path, (old, old))
    assert reports.purge_error_reports() == 1 and not path.exists()
    # the page's rows are still downloadable once the file is gone
    fallback = client.get(reverse("transaction-import-result", args=[job.pk]), {"download": "csv"})
    assert fallback.content.decode("utf-8-sig").count("\n") == 201


# --- Permissions ---------------------------------------------------------------------------


def test_the_screens_need_the_add_transaction_permission(client, rep_a, unit_a):
    client.force_login(rep_a)
    assert client.get(reverse("transaction-import")).status_code == 403
    assert client.get(reverse("transaction-import-template", args=["csv"])).status_code == 403
    draft = ImportDraft("0" * 32 + ".csv", "a.csv", unit_a.pk, "pos", "store", rep_a.pk)
    url = reverse("transaction-import-map", args=[draft.token()])
    assert client.get(url).status_code == 403
    assert client.post(url, mapping_post(action="import")).status_code == 403
    assert not Job.objects.exists()


def test_another_units_or_users_import_is_not_found(client, importer, unit_a, unit_b):
    client.force_login(importer)
    stored = imports.store_upload([csv_bytes(ROWS)], filename="a.csv")
    other_unit = ImportDraft(stored, "a.csv", unit_b.pk, "pos", "store", importer.pk)
    other_user = ImportDraft(stored, "a.csv", unit_a.pk, "pos", "store", importer.pk + 1)
    for draft in (other_unit, other_user):
        assert (
            client.get(reverse("transaction-import-map", args=[draft.token()])).status_code == 404
        )
    damaged = client.get(reverse("transaction-import-map", args=["not-a-token"]))
    assert damaged.url == reverse("transaction-import")

    job = Job.objects.create(
        kind=imports.IMPORT_JOB_KIND,
        business_unit=unit_b,
        status=JobStatus.SUCCEEDED,
        finished_at=timezone.now(),
        params={"dry_run": True, "kept_upload": stored},
        result={"dry_run": True},
    )
    assert client.post(reverse("transaction-import-confirm", args=[job.pk])).status_code == 404
    assert Job.objects.count() == 1


def test_the_upload_refuses_other_files_and_invisible_units(client, importer, unit_a, unit_b):
    client.force_login(importer)
    wrong_type = upload(client, unit_a, b"%PDF", name="orders.pdf")
    other_unit = upload(client, unit_b, csv_bytes(ROWS))
    assert wrong_type.status_code == 200 and wrong_type.context["form"].errors["file"]
    assert other_unit.status_code == 200 and other_unit.context["form"].errors["business_unit"]


# --- Query counts --------------------------------------------------------------------------


@pytest.mark.parametrize("saved", [0, 5])
def test_the_mapping_step_query_count_is_pinned(
    client, importer, unit_a, saved, django_assert_num_queries
):
    for n in range(saved):
        ImportMapping.objects.create(
            business_unit=unit_a, kind="transactions", name=f"m{n}", header_signature="x"
        )
    client.force_login(importer)
    map_url = upload(client, unit_a, csv_bytes(ROWS)).url
    source_names()  # the source's name: read once a minute per process, not per request
    # session, user, its permissions and roles (one query), units; the unit, the saved mappings
    with django_assert_num_queries(4):
        response = client.get(map_url)
    assert response.status_code == 200


def test_a_line_level_file_needs_no_order_amount_but_not_two_kinds_of_lines(
    client, importer, unit_a
):
    client.force_login(importer)
    header = ["订单号", "下单时间", "商品编码", "数量", "单价", "明细"]
    rows = [["L-1", "2024-05-01 10:00", "SKU-1", "2", "9.50", ""]]
    map_url = upload(client, unit_a, csv_bytes(rows, header=header)).url
    page = client.get(map_url)
    assert 'data-testid="import-line-level"' in page.content.decode()
    lines = {"col_external_id": "0", "col_occurred_at": "1", "col_sku": "2", "col_quantity": "3"}
    base = {**mapping_post(), **{k: "" for k in FULL_MAPPING}, **lines, "action": "dry_run"}

    without_price = client.post(map_url, base)
    assert list(without_price.context["form"].errors) == ["col_amount"]
    both = client.post(map_url, {**base, "col_unit_price": "4", "col_lines": "5"})
    assert list(both.context["form"].errors) == ["col_lines"]
    accepted = client.post(map_url, {**base, "col_unit_price": "4"})
    assert accepted.status_code == 302 and Job.objects.count() == 1


def test_only_a_finished_dry_run_whose_file_is_kept_can_be_imported(client, importer, unit_a):
    client.force_login(importer)
    stored = imports.store_upload([csv_bytes(ROWS)], filename="a.csv")
    params = {"dry_run": True, "kept_upload": stored, "upload": "x", "business_unit_id": unit_a.pk}
    running = Job.objects.create(
        kind=imports.IMPORT_JOB_KIND, business_unit=unit_a, status=JobStatus.RUNNING, params=params
    )
    real = Job.objects.create(
        kind=imports.IMPORT_JOB_KIND,
        business_unit=unit_a,
        status=JobStatus.SUCCEEDED,
        finished_at=timezone.now(),
        params={**params, "dry_run": False},
    )
    for job in (running, real):
        response = client.post(reverse("transaction-import-confirm", args=[job.pk]))
        assert response.url == reverse("job-detail", args=[job.pk])
    imports.delete_upload(stored)
    expired = Job.objects.create(
        kind=imports.IMPORT_JOB_KIND,
        business_unit=unit_a,
        status=JobStatus.SUCCEEDED,
        finished_at=timezone.now(),
        params=params,
    )
    response = client.post(reverse("transaction-import-confirm", args=[expired.pk]), follow=True)
    assert "文件已过期，请重新上传。" in response.content.decode()  # zh-Hans by default
    assert Job.objects.count() == 3


def test_the_unit_time_zone_is_edited_in_the_admin(client, admin_user, unit_a):
    client.force_login(admin_user)
    url = reverse("admin:crm_businessunit_change", args=[unit_a.pk])
    assert 'name="time_zone"' in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "code": unit_a.code,
            "name": unit_a.name,
            "industry": unit_a.industry,
            "time_zone": "Europe/London",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    unit_a.refresh_from_db()
    assert unit_a.time_zone == "Europe/London"
    mappings = client.get(reverse("admin:crm_importmapping_changelist"), {"q": "x"})
    assert mappings.status_code == 200


def test_a_file_gone_before_the_import_starts_sends_back_to_the_upload(
    client, importer, unit_a, monkeypatch
):
    client.force_login(importer)
    map_url = upload(client, unit_a, csv_bytes(ROWS)).url

    def gone(upload: str) -> str:
        raise imports.ImportFileError("The uploaded file is missing; upload it again.")

    monkeypatch.setattr("crm.imports.drafts.second_name", gone)
    response = client.post(map_url, mapping_post(action="dry_run"))
    assert response.url == reverse("transaction-import") and not Job.objects.exists()


# --- One set of screens for every importer --------------------------------------------------


def test_the_transaction_import_is_on_the_screens_every_importer_uses(client, importer, unit_a):
    client.force_login(importer)
    page = client.get(reverse("transaction-import"))
    assert page.templates[0].name == "crm/imports/upload.html"
    html = page.content.decode()
    assert (
        'data-testid="transaction-import-form"' in html
        and "import-template-transactions-csv" in html
    )
    assert "record-import-kind" not in html  # one kind of file: nothing to choose

    mapping = client.get(upload(client, unit_a, csv_bytes(ROWS)).url)
    assert mapping.templates[0].name == "crm/imports/map.html"
    used = {t.name for t in mapping.templates}
    assert "crm/imports/_transaction_options.html" in used
    assert 'data-testid="import-decimal-mark"' in mapping.content.decode()
    # the template of a format it does not make is no page
    assert client.get(reverse("transaction-import-template", args=["pdf"])).status_code == 404
