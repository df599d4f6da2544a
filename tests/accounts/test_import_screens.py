"""The accounts area's import screens: upload with a kind selector, mapping (saved per unit
and kind), dry run then "Import this file", the job page with its progress and rejected
rows, the error file, templates with Chinese headers, permissions and unit scope."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from accounts.models import Account, Contact
from crm.imports.record_jobs import get_importer, run_record_import
from crm.models import ImportMapping, Job, JobStatus
from crm.roles import MEMBER_SERVICE
from tests.accounts.conftest import make_uscc
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def accounts_file(rows, header=("企业名称", "信用代码", "城市")) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([list(header), *rows])
    return out.getvalue().encode("gbk")


def upload(client, unit, data, *, kind="accounts", name="accounts.csv"):
    return client.post(
        reverse("accounts:import"),
        {"kind": kind, "business_unit": unit.pk, "file": SimpleUploadedFile(name, data)},
    )


def test_upload_map_dry_run_then_import_with_progress_and_error_file(
    client, rep_a, unit_a, django_capture_on_commit_callbacks
):
    client.force_login(rep_a)
    page = client.get(reverse("accounts:import"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="record-import-columns-contacts"' in html
    rows = [["甲公司", make_uscc(5001), "上海"], ["乙公司", "BAD", "北京"]]
    response = upload(client, unit_a, accounts_file(rows))
    assert response.status_code == 302, response.context["form"].errors
    map_url = response.url
    mapping = client.get(map_url)
    form = mapping.context["form"]
    assert form["col_name"].value() == 0 and form["col_uscc"].value() == 1
    assert "甲公司" in mapping.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        dry = client.post(
            map_url,
            {
                "col_name": "0",
                "col_uscc": "1",
                "col_city": "2",
                "save_as": "ERP 导出",
                "action": "dry_run",
            },
        )
    job = Job.objects.get()
    assert dry.url == reverse("job-detail", args=[job.pk])
    assert job.kind == "accounts.import_accounts" and job.status == JobStatus.SUCCEEDED
    assert job.progress == 100 and (job.result["created"], job.result["rejected"]) == (1, 1)
    assert not Account.objects.exists()
    assert ImportMapping.objects.get().kind == "accounts"

    detail = client.get(dry.url).content.decode()
    assert 'data-testid="import-confirm"' in detail and 'data-testid="import-errors"' in detail
    assert 'data-testid="job-result"' in detail  # the counts, under the progress bar
    download = client.get(reverse("record-import-result", args=[job.pk]) + "?download=csv")
    report = b"".join(download.streaming_content).decode("utf-8-sig")
    assert "uscc" in report and ",3," not in report.splitlines()[0]
    assert report.splitlines()[1].startswith("3,uscc,")

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(reverse("record-import-confirm", args=[job.pk]))
    real = Job.objects.exclude(pk=job.pk).get()
    assert confirmed.url == reverse("job-detail", args=[real.pk])
    assert real.result["created"] == job.result["created"] and real.result["dry_run"] is False
    assert Account.objects.get().city == "上海"


def test_contacts_kind_through_the_screens(
    client, rep_a, unit_a, make_account, django_capture_on_commit_callbacks
):
    make_account("甲公司", uscc=make_uscc(5002))
    client.force_login(rep_a)
    data = accounts_file([["王芳", "13800138000", "甲公司"]], header=("姓名", "手机", "公司名称"))
    map_url = upload(client, unit_a, data, kind="contacts").url
    page = client.get(map_url)
    assert "13800138000" not in page.content.decode()  # phones masked in the preview
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            map_url,
            {"col_name": "0", "col_phone": "1", "col_account_name": "2", "action": "import"},
        )
    assert Job.objects.get().kind == "accounts.import_contacts"
    assert Contact.objects.get().person.display_name == "王芳"


@pytest.mark.parametrize(("language", "first"), [("zh-hans", "名称"), ("en", "name")])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_templates_per_kind_import_cleanly(client, rep_a, unit_a, language, first, fmt):
    client.force_login(rep_a)
    with translation.override(language):
        body = client.get(
            reverse("accounts:import-template", args=["accounts", fmt]),
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert body.status_code == 200
        data = body.content
        if fmt == "xlsx":
            header = [c.value for c in next(load_workbook(io.BytesIO(data)).active.iter_rows())]
        else:
            header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert header[0] == first
        for kind in ("accounts", "contacts"):
            if kind == "contacts":
                url = reverse("accounts:import-template", args=[kind, fmt])
                data = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content
            result = run_record_import(
                importer=get_importer(kind),
                business_unit=unit_a,
                user=rep_a,
                filename=f"t.{fmt}",
                dry_run=False,
                data=data,
            )
            assert result["rejected"] == 0, result["errors"]


def test_permissions_and_scope(client, rep_a, unit_a, unit_b):
    viewer = UserFactory(username="viewer", roles=[MEMBER_SERVICE], units=[unit_a])
    client.force_login(viewer)
    assert client.get(reverse("accounts:import")).status_code == 403
    assert (
        client.get(reverse("accounts:import-template", args=["accounts", "csv"])).status_code == 403
    )
    client.force_login(rep_a)
    refused = upload(client, unit_b, accounts_file([["甲公司", make_uscc(5003), ""]]))
    assert refused.status_code == 200 and "business_unit" in refused.context["form"].errors
    map_url = upload(client, unit_a, accounts_file([["甲公司", make_uscc(5003), ""]])).url
    other = UserFactory(username="rep_a2", roles=["sales_rep"], units=[unit_a])
    client.force_login(other)
    assert client.get(map_url).status_code == 404  # another user's draft
