"""The account list's export through the shared export job: the list's filter, every formula
prefix neutralized (= + - @ tab CR), numbers as numbers in CSV and XLSX, scoped rows."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from accounts import services
from accounts.exports import account_columns
from crm import exports
from crm.models import Customer, Job, JobStatus

pytestmark = pytest.mark.django_db

PREFIXES = ["=", "+", "-", "@", "\t", "\r"]


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def accounts(make_account, rep_a, unit_a, stages, rep_b, unit_b):
    made = []
    for n, prefix in enumerate(PREFIXES):
        account = make_account(f"公司{n}", fields={"industry": "C", "status": "active"})
        # names arrive from other sources (imports, the API) as they were typed
        Customer.objects.filter(pk=account.customer_id).update(
            display_name=f"{prefix}SUM(A1)公司{n}"
        )
        made.append(account)
    services.create_opportunity(
        account=made[0],
        name="大单",
        owner=rep_a,
        business_unit=unit_a,
        user=rep_a,
        amount=Decimal("1234567.50"),
        stage=stages["proposal"],
    )
    make_account("别的行业", fields={"industry": "F"})
    make_account("B 单位的公司", unit=unit_b, user=rep_b, fields={"industry": "C"})
    return made


def _export(client, user, capture, file_format: str, query: str) -> Job:
    client.force_login(user)
    with capture(execute=True):
        client.post(
            reverse("export-start"),
            {"list_key": "accounts.accounts", "query": query, "format": file_format},
        )
    job = Job.objects.filter(kind=exports.EXPORT_JOB_KIND).latest("created_at")
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def _header() -> list[str]:
    with translation.override("en"):
        return [str(c.label) for c in account_columns(False)]


def test_csv_neutralizes_every_formula_prefix_and_keeps_numbers(
    client, rep_a, accounts, django_capture_on_commit_callbacks
):
    job = _export(client, rep_a, django_capture_on_commit_callbacks, "csv", "industry=C&after=x")
    assert job.params["filters"] == {"industry": "C"}
    raw = b"".join(client.get(reverse("export-download", args=[job.pk])).streaming_content)
    header, *body = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert len(header) == 14
    rows = {int(r[0]): dict(zip(_header(), r, strict=True)) for r in body}
    assert set(rows) == {a.pk for a in accounts}  # the filter; the other unit's left out
    for account, prefix in zip(accounts, PREFIXES, strict=True):
        name = rows[account.pk]["Name"]
        assert name == f"'{prefix}SUM(A1)公司{accounts.index(account)}", repr(name)
    first = rows[accounts[0].pk]
    assert first["Open pipeline (CNY)"] == "1234567.50"  # a plain number, no separator
    assert first["Open opportunities"] == "1" and first["Active contacts"] == "0"
    assert first["Blacklisted"] in ("否", "No")


def test_xlsx_cells_are_typed_and_never_formulas(
    client, rep_a, accounts, django_capture_on_commit_callbacks
):
    job = _export(client, rep_a, django_capture_on_commit_callbacks, "xlsx", "industry=C")
    response = client.get(reverse("export-download", args=[job.pk]))
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = {r[0].value: dict(zip(_header(), r, strict=True)) for r in sheet.iter_rows(min_row=2)}
    assert set(rows) == {a.pk for a in accounts}
    for account, prefix in zip(accounts, PREFIXES, strict=True):
        cell = rows[account.pk]["Name"]
        # XML reads a stored CR back as LF; what matters is the quote in front
        assert cell.data_type == "s" and cell.value[:2] in (f"'{prefix}", "'\n")
    amount = rows[accounts[0].pk]["Open pipeline (CNY)"]
    assert amount.data_type == "n" and Decimal(str(amount.value)) == Decimal("1234567.50")
    assert rows[accounts[0].pk]["Account number"].data_type == "n"
    assert rows[accounts[0].pk]["Open opportunities"].value == 1
