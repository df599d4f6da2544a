"""Forms of the record importers (``crm.imports.records``): the upload with the importer's
kind, and one select per column of the importer's ``ColumnSet``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.imports.columns import ColumnSet
from crm.imports.options import ImportOptions
from crm.imports.records import RecordImporter
from crm.web.import_forms import UploadForm


class RecordUploadForm(UploadForm):
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


class RecordMappingForm(forms.Form):
    """``col_<column>``: the index of the file's header holding it, or empty; ``save_as``: a
    name to save the mapping under for the unit."""

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
                required=column in columns.required,
                error_messages={"required": _("Required: pick the file's column that holds this.")},
                widget=forms.Select(attrs={"class": "form-select", "data-import-column": column}),
            )
            for column in columns.columns
        }
        self.fields = {**fields, **self.fields}

    def column_fields(self) -> list[tuple[str, forms.BoundField, bool]]:
        return [(c, self[f"col_{c}"], c in self.columns.required) for c in self.columns.columns]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        taken: dict[int, str] = {}
        for column in self.columns.columns:
            index = data.get(f"col_{column}")
            if index is None:
                continue
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
            raw = "" if values.get(f"col_{column}") is None else str(values.get(f"col_{column}"))
            if raw.isdigit() and int(raw) < len(self.header):
                chosen[column] = int(raw)
        return chosen

    def options(self) -> ImportOptions:
        data = self.cleaned_data
        mapping = {
            c: data[f"col_{c}"] for c in self.columns.columns if data.get(f"col_{c}") is not None
        }
        return ImportOptions(mapping=mapping)
