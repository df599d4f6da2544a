"""Forms of the import screens (``crm.web.record_imports``): the upload (the unit and the
file; a record importer's kind, or the transaction import's source and channel) and the column
mapping (one select per column of the importer's ``ColumnSet``; the transaction import adds its
number convention, time zone and currency)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import imports
from crm.imports.columns import TRANSACTION_COLUMNS, ColumnSet
from crm.imports.options import DECIMAL_COMMA, DECIMAL_POINT, ImportOptions
from crm.models import TIME_ZONE_CHOICES, BusinessUnit, Channel

if TYPE_CHECKING:
    from crm.imports.records import RecordImporter

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _required_message(column: str) -> str:
    if column == "amount":
        return _(
            "Required: pick the file's column that holds this, or the order lines' amounts "
            "(line amount, or quantity and unit price)."
        )
    return _("Required: pick the file's column that holds this.")


class UploadForm(forms.Form):
    """The unit a file is imported for (one the user sees) and the file: what every
    importer's upload asks."""

    business_unit = forms.ModelChoiceField(
        queryset=BusinessUnit.objects.none(),
        label=gettext_lazy("Business unit"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV (UTF-8 or GBK) or Excel .xlsx, at most 50 MB."),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,.xlsx"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = BusinessUnit.objects.visible_to(user).filter(is_active=True).order_by("code")
        field = self.fields["business_unit"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = units

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


class TransactionUploadForm(UploadForm):
    field_order = ["business_unit", "source", "channel", "file"]
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

    def clean_source(self) -> str:
        return str(self.cleaned_data["source"]).strip().lower()


class RecordUploadForm(UploadForm):
    """A record importer's upload: what the file holds (one of the screens' kinds)."""

    kind = forms.ChoiceField(
        label=gettext_lazy("What the file holds"),
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    field_order = ["kind", "business_unit", "file"]

    def __init__(self, *args: Any, importers: Sequence[RecordImporter], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["kind"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(i.kind, i.label) for i in importers]
        if importers and not self.is_bound:
            self.initial.setdefault("kind", importers[0].kind)
        units = self.fields["business_unit"].queryset  # type: ignore[attr-defined]
        if not self.is_bound and len(units) == 1:  # one unit: nothing to choose
            self.initial.setdefault("business_unit", units[0].pk)


class MappingForm(forms.Form):
    """``col_<column>``: the index of the file's header holding the column, or empty, for
    each column of ``columns``; ``save_as``: a name to save the mapping under for the unit."""

    # A column's own requiredness is checked by its field; False where it depends on the
    # other columns chosen (the subclass's ``clean``).
    fields_required = True

    save_as = forms.CharField(
        label=gettext_lazy("Save this mapping as"),
        max_length=80,
        required=False,
        help_text=gettext_lazy(
            "Optional. A file of this unit with the same headers gets it proposed next time."
        ),
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, header: Sequence[str], columns: ColumnSet, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.header = list(header)
        self.columns = columns
        choices = [("", _("— not in the file —"))] + [
            (str(index), text or _("(column %(number)s, no name)") % {"number": index + 1})
            for index, text in enumerate(self.header)
        ]
        fields = {
            f"col_{column}": forms.TypedChoiceField(
                label=columns.label(column),
                choices=choices,
                coerce=int,
                empty_value=None,
                required=self.fields_required and column in columns.required,
                error_messages={"required": _("Required: pick the file's column that holds this.")},
                widget=forms.Select(attrs={"class": "form-select", "data-import-column": column}),
            )
            for column in columns.columns
        }
        self.fields = {**fields, **self.fields}

    def column_fields(self) -> list[tuple[str, forms.BoundField, bool]]:
        return [(c, self[f"col_{c}"], c in self.columns.required) for c in self.columns.columns]

    def chosen(self) -> dict[str, int]:
        """``column -> index`` of the valid choices (in ``clean`` and after it)."""
        data = self.cleaned_data
        return {
            c: data[f"col_{c}"] for c in self.columns.columns if data.get(f"col_{c}") is not None
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        taken: dict[int, str] = {}
        for column, index in self.chosen().items():
            if index in taken:
                self.add_error(
                    f"col_{column}",
                    _("“%(header)s” is already chosen for “%(other)s”; pick each column once.")
                    % {"header": self.header[index], "other": self.columns.label(taken[index])},
                )
            else:
                taken[index] = column
        return data

    def mapping(self) -> dict[str, int]:
        """``column -> index`` as chosen, valid or not (what the preview shows)."""
        values = self.data if self.is_bound else self.initial
        chosen = {}
        for column in self.columns.columns:
            value = values.get(f"col_{column}")
            raw = "" if value is None else str(value)
            if raw.isdigit() and int(raw) < len(self.header):
                chosen[column] = int(raw)
        return chosen

    def options(self) -> ImportOptions:
        return ImportOptions(mapping=self.chosen())


class ColumnMappingForm(MappingForm):
    """The transaction import's mapping: which columns are required depends on the others
    (the amount may come from the order lines), plus the number convention, the file's time
    zone and the currency of rows without one."""

    fields_required = False
    field_order = ["decimal_mark", "time_zone", "currency", "save_as"]

    decimal_mark = forms.ChoiceField(
        label=gettext_lazy("Numbers in this file"),
        choices=[
            (DECIMAL_POINT, gettext_lazy("Decimal point: 1,234.50")),
            (DECIMAL_COMMA, gettext_lazy("Decimal comma: 1.234,50")),
        ],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone of the file's times"),
        choices=TIME_ZONE_CHOICES,
        help_text=gettext_lazy("Times written without a zone are read in this zone."),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    currency = forms.CharField(
        label=gettext_lazy("Currency of the amounts"),
        max_length=3,
        required=False,
        help_text=gettext_lazy(
            "The file has no currency column: every amount is in this currency."
        ),
        widget=forms.TextInput(
            attrs={"class": "form-control text-uppercase", "autocomplete": "off", "size": 4}
        ),
    )

    def __init__(self, *args: Any, header: Sequence[str], **kwargs: Any) -> None:
        kwargs.setdefault("columns", TRANSACTION_COLUMNS)
        super().__init__(*args, header=header, **kwargs)
        # the column selects first, then the options in their order
        self.order_fields([f"col_{c}" for c in self.columns.columns] + self.field_order)

    def clean_currency(self) -> str:
        return str(self.cleaned_data.get("currency") or "").strip().upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        chosen = self.chosen()
        for column in imports.missing_columns(chosen):
            if f"col_{column}" not in self.errors:
                self.add_error(f"col_{column}", _required_message(column))
        if "lines" in chosen and any(c in chosen for c in imports.LINE_COLUMNS):
            self.add_error(
                "col_lines",
                _(
                    "Order lines come either from this JSON column or from the line columns "
                    "(product code, quantity, unit price…): keep one of them."
                ),
            )
        if data.get("col_currency") is None and "currency" not in self.errors:
            currency = data.get("currency") or ""
            if not currency:
                self.add_error(
                    "currency",
                    _("Required: the file has no currency column, so say which currency it uses."),
                )
            elif not _CURRENCY.match(currency):
                self.add_error(
                    "currency", _("A three-letter ISO code such as CNY, HKD, USD or GBP.")
                )
        return data

    def options(self) -> ImportOptions:
        data = self.cleaned_data
        return ImportOptions(
            mapping=self.chosen(),
            decimal_mark=data["decimal_mark"],
            time_zone=data["time_zone"],
            currency=data.get("currency") or "CNY",
        )


# The transaction import's columns as its upload page documents them.
TRANSACTION_COLUMN_DOCS = replace(
    TRANSACTION_COLUMNS,
    descriptions={
        "external_id": gettext_lazy("The order id in the source system."),
        "occurred_at": gettext_lazy(
            "2024-05-01 14:30, 2024/5/1 14:30:00 or ISO 8601; without a zone it is read in "
            "the file's time zone, chosen in the next step."
        ),
        "amount": gettext_lazy(
            "1234.50 or 1.234,50: the number convention is chosen in the next step."
        ),
        "currency": gettext_lazy(
            "Three-letter code or 人民币/RMB/元; without this column: chosen in the next step."
        ),
        "channel": gettext_lazy(
            "A channel code (store, tmall, jd, …) or its Chinese name; empty: the default channel."
        ),
        "kind": gettext_lazy(
            "purchase or cancellation (购买/退货); a cancellation's amount is negative."
        ),
        "original_external_id": gettext_lazy("For a cancellation: the order it cancels."),
        "mobile": gettext_lazy("Customer's mobile phone."),
        "email": gettext_lazy("Customer's e-mail."),
        "wechat_unionid": gettext_lazy("Customer's WeChat unionid."),
        "customer_external_id": gettext_lazy("Customer's id in the source system."),
        "name": gettext_lazy("Customer's name, used when a new customer is created."),
        "region": gettext_lazy("The customer's region or country, kept on a new customer."),
        "lines": gettext_lazy("Optional: order lines as a JSON list of objects."),
        "sku": gettext_lazy("One row per order line: the rows of one order id become one order."),
        "product": gettext_lazy("The line's product name."),
        "quantity": gettext_lazy("The line's quantity; a return has a negative quantity."),
        "unit_price": gettext_lazy("The line's unit price."),
        "line_amount": gettext_lazy(
            "The line's amount (quantity × unit price); the lines add up to the order amount."
        ),
    },
)
