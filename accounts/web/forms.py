"""The accounts screens' forms: they render and parse fields; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from accounts.models import AccountStatus, ContactRole, Industry, Rating, RelationKind, SizeBand
from crm.errors import DomainError
from crm.models import BusinessUnit, User
from crm.web.components import esc


def _styled(form: forms.BaseForm) -> None:
    for bound in form:
        widget = bound.field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
            continue
        css = "form-select" if isinstance(widget, forms.Select) else "form-control"
        widget.attrs.setdefault("class", css)


def add_domain_error(form: forms.BaseForm, exc: DomainError) -> None:
    """A service's refusal shown at the field it names (or above the form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def _blank(label: Any, choices: Any) -> list[tuple[str, Any]]:
    return [("", label), *[(v, lbl) for v, lbl in choices if v != ""]]


class QuickSelect(forms.Select):
    """A ``<select>`` made here rather than by Django's widget templates, which render one
    template per option: the list's filter bar has ~100 options (provinces, industries,
    owners) and they were a large part of the list page's rendering time. Flat choices
    only."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        current = self.format_value(value)
        chosen = current[0] if current else ""
        found = False
        rows = []
        for option, label in self.choices:
            key = "" if option is None else str(option)
            selected = not found and key == chosen
            found = found or selected
            mark = " selected" if selected else ""
            rows.append(f'<option value="{esc(key)}"{mark}>{esc(label)}</option>')
        return mark_safe(f"<select{flatatt(final)}>{''.join(rows)}</select>")  # noqa: S308 (escaped)


class QuickInput(forms.widgets.Input):
    """An ``<input>`` made here, as ``QuickSelect`` makes its select: Django renders two
    templates per input (the input and its attributes), ~2 ms each on the loaded bench
    machine, and the account page has twenty of them in its four forms. Same markup."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        shown = widget["value"]
        value_attr = f' value="{esc(shown)}"' if shown is not None else ""
        return mark_safe(  # noqa: S308 (escaped)
            f'<input type="{esc(widget["type"])}" name="{esc(name)}"{value_attr}'
            f"{flatatt(widget['attrs'])}>"
        )


class QuickTextInput(QuickInput, forms.TextInput):
    pass


class QuickDateInput(QuickInput, forms.DateInput):
    pass


class AccountFilterForm(forms.Form):
    """The list's filters, rendered in a loop: a new filter is one field here (and its
    condition in ``accounts.selectors.lists``). Parsing is ``AccountFilters.from_params``."""

    q = forms.CharField(
        required=False,
        label=_("Search"),
        widget=QuickTextInput(
            attrs={
                "type": "search",
                "placeholder": _("Name, USCC, or a contact's phone (full or last 4 digits)…"),
                "data-testid": "account-search",
            }
        ),
    )
    industry = forms.ChoiceField(widget=QuickSelect, required=False, label=_("Industry"))
    province = forms.ChoiceField(widget=QuickSelect, required=False, label=_("Province"))
    city = forms.CharField(
        required=False,
        label=_("City"),
        widget=QuickTextInput(attrs={"placeholder": _("City")}),
    )
    owner = forms.ChoiceField(widget=QuickSelect, required=False, label=_("Owner"))
    status = forms.ChoiceField(widget=QuickSelect, required=False, label=_("Status"))
    blacklisted = forms.ChoiceField(
        widget=QuickSelect,
        required=False,
        label=_("Blacklist"),
        choices=[
            ("", _("Blacklisted or not")),
            ("yes", _("Blacklisted")),
            ("no", _("Not blacklisted")),
        ],
    )
    rating = forms.ChoiceField(
        widget=QuickSelect,
        required=False,
        label=_("Rating"),
        choices=[("", _("Any rating")), *Rating.choices, ("none", _("Not rated"))],
    )
    unit = forms.ChoiceField(widget=QuickSelect, required=False, label=_("Business unit"))

    def __init__(
        self, *args: Any, units: Any = (), owners: Any = (), provinces: Any = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["industry"].choices = _blank(_("Any industry"), Industry.choices)
        fields["status"].choices = _blank(_("Any status"), AccountStatus.choices)
        fields["province"].choices = [("", _("Any province")), *[(p, p) for p in provinces]]
        fields["owner"].choices = [
            ("", _("Any owner")),
            ("me", _("Mine")),
            ("none", _("No owner")),
            *[(str(u.pk), u.get_full_name() or u.username) for u in owners],
        ]
        fields["unit"].choices = [
            ("", _("Any business unit")),
            *[(str(u.pk), u.name) for u in units],
        ]
        _styled(self)
        for name, bound in self.fields.items():
            bound.widget.attrs.setdefault("aria-label", str(bound.label))
            bound.widget.attrs.setdefault("data-testid", f"filter-{name}")


class AccountFieldsForm(forms.Form):
    """The fields ``services.update_account`` edits (and ``create_account`` takes)."""

    industry = forms.ChoiceField(widget=QuickSelect, required=False, label=_("Industry"))
    size_band = forms.ChoiceField(
        widget=QuickSelect, required=False, label=_("Size"), choices=SizeBand.choices
    )
    status = forms.ChoiceField(widget=QuickSelect, label=_("Status"), choices=AccountStatus.choices)
    province = forms.CharField(
        required=False, max_length=40, label=_("Province"), widget=QuickTextInput
    )
    city = forms.CharField(required=False, max_length=40, label=_("City"), widget=QuickTextInput)
    address = forms.CharField(
        required=False, max_length=300, label=_("Address"), widget=QuickTextInput
    )
    website = forms.CharField(
        required=False, max_length=200, label=_("Website"), widget=QuickTextInput
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["industry"].choices = _blank(_("Not set"), Industry.choices)
        _styled(self)

    def account_fields(self) -> dict[str, Any]:
        keys = ("industry", "size_band", "status", "province", "city", "address", "website")
        return {k: self.cleaned_data.get(k, "") for k in keys}


class AccountCreateForm(AccountFieldsForm):
    uscc = forms.CharField(
        max_length=30,
        label=_("Unified social credit code"),
        help_text=_("18 characters; an organization the master already knows is reused."),
    )
    name = forms.CharField(max_length=200, label=_("Company name"))
    business_unit = forms.ModelChoiceField(
        queryset=BusinessUnit.objects.none(), label=_("Business unit"), empty_label=None
    )
    field_order = ["uscc", "name", "business_unit"]

    def __init__(self, *args: Any, units: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["business_unit"].queryset = units if units is not None else BusinessUnit.objects
        _styled(self)


class ContactAddForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"), widget=QuickTextInput)
    mobile = forms.CharField(
        required=False, max_length=30, label=_("Mobile phone"), widget=QuickTextInput
    )
    email = forms.CharField(
        required=False, max_length=200, label=_("E-mail"), widget=QuickTextInput
    )
    title = forms.CharField(required=False, max_length=100, label=_("Title"), widget=QuickTextInput)
    department = forms.CharField(
        required=False, max_length=100, label=_("Department"), widget=QuickTextInput
    )
    roles = forms.ModelMultipleChoiceField(
        queryset=ContactRole.objects.filter(is_active=True),
        required=False,
        label=_("Roles"),
        widget=forms.CheckboxSelectMultiple,
    )
    is_primary = forms.BooleanField(required=False, label=_("Primary contact"))

    def __init__(self, *args: Any, roles: list[ContactRole] | None = None, **kwargs: Any) -> None:
        """``roles``: every role, already read (the account page reads them for its rows):
        the choices are the active ones, without a query of their own."""
        super().__init__(*args, **kwargs)
        if roles is not None:
            fields: Any = self.fields
            fields["roles"].choices = [(r.pk, str(r)) for r in roles if r.is_active]
        _styled(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("mobile") or data.get("email")):
            self.add_error("mobile", _("Give a mobile phone or an e-mail address."))
        return data


class RelationForm(forms.Form):
    kind = forms.ChoiceField(widget=QuickSelect, label=_("Relation"), choices=RelationKind.choices)
    to_account = forms.CharField(
        max_length=30,
        label=_("Related account"),
        help_text=_("Its account number or its USCC."),
        widget=QuickTextInput,
    )
    valid_from = forms.DateField(
        required=False, label=_("From"), widget=QuickDateInput(attrs={"type": "date"})
    )
    valid_to = forms.DateField(
        required=False, label=_("To"), widget=QuickDateInput(attrs={"type": "date"})
    )
    note = forms.CharField(required=False, max_length=300, label=_("Note"), widget=QuickTextInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _styled(self)


class ParentForm(forms.Form):
    parent = forms.CharField(
        required=False,
        max_length=30,
        label=_("Parent account"),
        help_text=_("Its account number or its USCC; empty: no parent."),
        widget=QuickTextInput,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _styled(self)


def owner_choices(units: Any) -> Any:
    """The users who may own accounts of these units (active, in one of them)."""
    return (
        User.objects.filter(is_active=True, business_units__in=units)
        .distinct()
        .order_by("username")
        .only("id", "username", "first_name", "last_name")
    )
