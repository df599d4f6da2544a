"""The transaction import screen: upload a file, start the import job, show its rejected rows.

Progress is the job's own page (``job-detail``); it includes ``crm/imports/_result.html``,
which this module serves while the job runs and renders with the rejected rows once it ends.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.validators import RegexValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from crm import imports, services
from crm.models import BusinessUnit, Channel, Job, JobStatus
from crm.policy import get_visible_or_404


class TransactionImportForm(forms.Form):
    business_unit = forms.ModelChoiceField(
        queryset=BusinessUnit.objects.none(),
        label=gettext_lazy("Business unit"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    source = forms.CharField(
        label=gettext_lazy("Source system"),
        max_length=40,
        initial="import",
        # the same rule as crm.services.transactions checks; said here to answer at once
        validators=[
            RegexValidator(
                re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$"),
                gettext_lazy("A short lowercase code such as pos or online_mall."),
            )
        ],
        help_text=gettext_lazy(
            "A short lowercase code such as pos or online_mall. An order id is unique within "
            "its source: importing the same orders again skips them."
        ),
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    channel = forms.ChoiceField(
        choices=Channel.choices,
        initial=Channel.STORE,
        label=gettext_lazy("Default channel"),
        help_text=gettext_lazy("For rows without a channel column or value."),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or GBK) or Excel .xlsx, at most 50 MB. Larger files: ask an "
            "administrator to use the import_transactions command."
        ),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,.xlsx"}),
    )
    dry_run = forms.BooleanField(
        required=False,
        label=gettext_lazy("Dry run (check only)"),
        help_text=gettext_lazy("Check every row and report the errors without saving anything."),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = BusinessUnit.objects.visible_to(user).filter(is_active=True).order_by("code")
        field = self.fields["business_unit"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = units

    def clean_source(self) -> str:
        return str(self.cleaned_data["source"]).strip().lower()

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > imports.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s MB.")
                % {"size": imports.MAX_UPLOAD_BYTES // (1024 * 1024)}
            )
        return upload


@require_http_methods(["GET", "POST"])
@permission_required("crm.add_transaction", raise_exception=True)
def transaction_import(request: HttpRequest) -> HttpResponse:
    form = TransactionImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        unit = data["business_unit"]
        upload = data["file"]
        stored = imports.store_upload(upload.chunks(), filename=upload.name)
        try:
            job = services.start_job(
                kind=imports.IMPORT_JOB_KIND,
                params={
                    "upload": stored,
                    "filename": upload.name[:200],
                    "business_unit_id": unit.pk,
                    "source": data["source"],
                    "channel": data["channel"],
                    "dry_run": data["dry_run"],
                },
                user=request.user,
                business_unit=unit,
            )
        except Exception:
            imports.delete_upload(stored)
            raise
        if data["dry_run"]:
            messages.success(request, _("Checking the file; nothing will be saved."))
        else:
            messages.success(request, _("Import started."))
        return redirect("job-detail", pk=job.pk)
    return render(
        request,
        "crm/imports/transaction_import.html",
        {"form": form, "columns": _column_docs()},
    )


@require_GET
@permission_required("crm.view_job", raise_exception=True)
def transaction_import_result(request: HttpRequest, pk: str) -> HttpResponse:
    """The rejected rows of an import job: the job page's section (polled by htmx until the
    job ends), or with ``?download=csv`` every reported row as a CSV file."""
    job = get_visible_or_404(Job.objects, request.user, pk=pk, kind=imports.IMPORT_JOB_KIND)
    if request.GET.get("download") == "csv":
        errors = (job.result or {}).get("errors", []) if job.status == JobStatus.SUCCEEDED else []
        response = HttpResponse(
            imports.error_report_csv(errors), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="import-errors-{job.pk}.csv"'
        return response
    if not request.htmx:
        return redirect("job-detail", pk=job.pk)
    return render(request, "crm/imports/_result.html", {"job": job})


def _column_docs() -> list[dict[str, Any]]:
    descriptions = {
        "external_id": _("The order id in the source system."),
        "occurred_at": _(
            "2024-05-01 14:30, 2024/5/1 14:30:00 or ISO 8601; without a time zone it is "
            "China Standard Time."
        ),
        "amount": _("1234.50; ¥ and thousands separators are ignored."),
        "currency": _("Three-letter code; default CNY."),
        "channel": _(
            "A channel code (store, tmall, jd, …) or its Chinese name; empty: the default channel."
        ),
        "kind": _("purchase or cancellation (购买/退货); a cancellation's amount is negative."),
        "original_external_id": _("For a cancellation: the order it cancels."),
        "mobile": _("Customer's mobile phone."),
        "email": _("Customer's e-mail."),
        "wechat_unionid": _("Customer's WeChat unionid."),
        "customer_external_id": _("Customer's id in the source system."),
        "name": _("Customer's name, used when a new customer is created."),
        "lines": _("Optional: order lines as a JSON list of objects."),
    }
    return [
        {
            "name": column,
            "aliases": [a for a in aliases if not a.isascii()],
            "required": column in imports.REQUIRED_COLUMNS,
            "description": descriptions.get(column, ""),
        }
        for column, aliases in imports.COLUMNS.items()
    ]
