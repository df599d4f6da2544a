"""The account page's forms (edit the account, set its parent, add a relation, add a
contact), each in a closed ``<details>``: made only when one is open (a refused form, or
``?form=`` without JavaScript) or fetched through htmx when its ``<details>`` opens. Twenty
fields through ``components/form_field.html`` on every view of the page were a third of its
template time, for forms most views never open."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from accounts.models import Account
from accounts.web.forms import AccountFieldsForm, ContactAddForm, ParentForm, RelationForm

_EDIT_FIELDS = ("industry", "size_band", "status", "province", "city", "address", "website")

FORM_PERMISSIONS = {
    "edit": "accounts.change_account",
    "parent": "accounts.change_account",
    "relation": "accounts.add_accountrelation",
    "contact": "accounts.add_contact",
}


def may_use_form(user: Any, which: str) -> bool:
    return which in FORM_PERMISSIONS and user.has_perm(FORM_PERMISSIONS[which])


def form_context(account: Account, which: str, **forms: Any) -> dict[str, Any]:
    """The open form (``which``), a refused one from ``forms`` or a new one."""
    context: dict[str, Any] = {"account": account, "which": which}
    if which == "edit":
        context["edit_form"] = forms.get("edit_form") or AccountFieldsForm(
            initial={f: getattr(account, f) for f in _EDIT_FIELDS}
        )
    elif which == "parent":
        context["parent_form"] = forms.get("parent_form") or ParentForm(
            initial={"parent": account.parent_id or ""}
        )
    elif which == "relation":
        context["relation_form"] = forms.get("relation_form") or RelationForm()
    elif which == "contact":
        context["contact_form"] = forms.get("contact_form") or ContactAddForm(
            roles=forms.get("roles")
        )
    return context


def form_loaders(account_pk: int) -> dict[str, SafeString]:
    """The htmx attributes of each closed form's <details>: fetch the form on first open."""
    url = reverse("accounts:detail", args=[account_pk])
    return {
        which: mark_safe(  # noqa: S308 (a URL of ours and a known word)
            f'hx-get="{url}?partial=form&amp;form={which}" hx-trigger="toggle once" '
            'hx-target="find [data-form-slot]" hx-swap="innerHTML"'
        )
        for which in FORM_PERMISSIONS
    }
