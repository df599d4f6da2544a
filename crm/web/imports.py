"""The transaction import on the import screens (``crm.web.record_imports``): the same upload,
mapping, preview, job and result, where it asks more than a record importer:

- the upload asks the source system and the default channel (no kind: one kind of file);
- the mapping proposes the number convention from the data, the file's time zone (the unit's
  by default) and the currency of a file without a currency column, and says when the rows
  are order lines; a saved mapping brings these options back too;
- the job is the transaction import's (``crm.imports.drafts.start_draft_import``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from crm.imports import mapping as column_mapping
from crm.imports.columns import ColumnSet
from crm.imports.drafts import ImportDraft, inspect_draft, start_draft_import
from crm.imports.inspect import Inspection
from crm.imports.template import template_table
from crm.models import BusinessUnit, ImportMapping, Job
from crm.web import record_imports
from crm.web.import_forms import (
    TRANSACTION_COLUMN_DOCS,
    ColumnMappingForm,
    MappingForm,
    TransactionUploadForm,
)

KIND = column_mapping.TRANSACTIONS_KIND  # ``ImportDraft.kind`` of a transaction file


class TransactionImportKind:
    """The transaction import as the screens show a kind of file."""

    kind = KIND
    label = gettext_lazy("Import transactions")
    columns: ColumnSet = TRANSACTION_COLUMN_DOCS
    permissions = record_imports.TRANSACTION_IMPORT_PERMISSIONS
    template_title = gettext_lazy("Transactions")  # the Excel template's sheet

    def template_table(self, *, chinese: bool) -> tuple[list[str], list[list[str]]]:
        return template_table()  # headers in the active language, like the page


TRANSACTIONS = TransactionImportKind()


@dataclass(frozen=True)
class TransactionImportScreens(record_imports.RecordImportScreens):
    def importer(self, kind: str) -> Any:
        return TRANSACTIONS

    def template_href(self, kind: str, fmt: str) -> str:
        return reverse(self.template_url, args=[fmt])

    def upload_form(self, request: HttpRequest, importers: list[Any]) -> Any:
        return TransactionUploadForm(request.POST or None, request.FILES or None, user=request.user)

    def draft(self, data: dict[str, Any], *, stored: str, filename: str, user: Any) -> ImportDraft:
        return ImportDraft(
            upload=stored,
            filename=filename[:200],
            business_unit_id=data["business_unit"].pk,
            source=data["source"],
            channel=data["channel"],
            user_id=user.pk,
            kind=KIND,
        )

    def inspect(
        self, draft: ImportDraft, importer: Any, *, mapping: dict[str, int] | None = None
    ) -> Inspection:
        # the transaction columns: amounts, order ids and order lines are judged too
        if mapping is None:
            return inspect_draft(draft, sample_rows=1)
        return inspect_draft(draft, mapping=mapping)

    def mapping_form(
        self,
        request: HttpRequest,
        *,
        header: list[str],
        importer: Any,
        unit: BusinessUnit,
        chosen: ImportMapping | None,
    ) -> MappingForm:
        """A saved mapping's columns and options, else the header names known, the unit's
        time zone and CNY (the number convention is proposed once the file is read)."""
        if chosen is not None:
            options: dict[str, Any] = chosen.as_options()
        else:
            options = {"time_zone": unit.time_zone, "currency": "CNY"}
        initial = options | record_imports.proposal_initial(header, importer.columns, chosen)
        return ColumnMappingForm(request.POST or None, header=header, initial=initial)

    def mapping_context(
        self, form: MappingForm, inspection: Inspection, chosen: ImportMapping | None
    ) -> dict[str, Any]:
        evidence = column_mapping.propose_decimal_mark(inspection)
        if chosen is None:
            form.initial["decimal_mark"] = evidence.mark
        return {"evidence": evidence, "options_template": "crm/imports/_transaction_options.html"}

    def start(self, **kwargs: Any) -> Job:
        return start_draft_import(**kwargs)


SCREENS = TransactionImportScreens(
    kinds=(KIND,),
    upload_url="transaction-import",
    map_url="transaction-import-map",
    template_url="transaction-import-template",
    area=gettext_lazy("Customer master"),
    testid="transaction-import",
    intro=gettext_lazy(
        "The first row names the columns. Known names, in Chinese or in English, are picked up "
        "by themselves; any other name you map in the next step. Rows with errors are reported "
        "with their line number and the other rows are still imported; an order imported "
        "before is skipped. The templates hold every column and example rows."
    ),
    show_source=True,
)


@require_http_methods(["GET", "POST"])
@permission_required("crm.add_transaction", raise_exception=True)
def transaction_import(request: HttpRequest) -> HttpResponse:
    return record_imports.upload(request, SCREENS)


@require_http_methods(["GET", "POST"])
@permission_required("crm.add_transaction", raise_exception=True)
def transaction_import_map(request: HttpRequest, token: str) -> HttpResponse:
    return record_imports.map_columns(request, token, SCREENS)


@require_GET
@permission_required("crm.add_transaction", raise_exception=True)
def transaction_import_template(request: HttpRequest, fmt: str) -> HttpResponse:
    """An empty import file with the columns' headers in the page's language and example
    rows that import cleanly."""
    return record_imports.template(request, KIND, fmt, SCREENS)
