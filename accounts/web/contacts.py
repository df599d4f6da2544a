"""Contacts on the account page: add one (through the master's resolution), edit a contact's
roles inline (htmx: the row comes back), mark a contact as left; and the create-account
form."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.models import Contact, ContactRole
from accounts.selectors import account_page as pages
from accounts.web.account_page import _rerender, display_contacts, visible_account
from accounts.web.forms import AccountCreateForm, ContactAddForm, add_domain_error
from crm.errors import DomainError
from crm.models import BusinessUnit, IdentityType
from crm.services import IdentityInput


def _contact(request: HttpRequest, pk: int, contact_id: int) -> Contact:
    account = visible_account(request, pk)
    return get_object_or_404(
        Contact.objects.select_related("person", "account"), account=account, pk=contact_id
    )


def _acting_unit(request: HttpRequest, account: object) -> BusinessUnit | None:
    """The unit the user acts for on this account: one of theirs that deals with it."""
    return (
        BusinessUnit.objects.filter(accounts=account, users=request.user.pk)
        .order_by("code")
        .first()
    )


@require_POST
@permission_required("accounts.add_contact", raise_exception=True)
def contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = visible_account(request, pk)
    form = ContactAddForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        identities = [
            IdentityInput(t, data[t]) for t in (IdentityType.MOBILE, IdentityType.EMAIL) if data[t]
        ]
        try:
            services.add_contact(
                account=account,
                identities=identities,
                name=data["name"],
                user=request.user,
                business_unit=_acting_unit(request, account),
                roles=data["roles"],
                title=data["title"],
                department=data["department"],
                is_primary=data["is_primary"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Contact added."))
            return redirect("accounts:detail", pk=account.pk)
    return _rerender(request, account, contact_form=form, open_form="contact")


@require_POST
@permission_required("accounts.change_contact", raise_exception=True)
def contact_roles(request: HttpRequest, pk: int, contact_id: int) -> HttpResponse:
    """Inline role editing: saves the roles and returns the contact's row (htmx) or the page."""
    contact = _contact(request, pk, contact_id)
    ids = [int(v) for v in request.POST.getlist("roles") if v.isdigit()]
    roles = list(ContactRole.objects.filter(pk__in=ids, is_active=True))
    error = ""
    try:
        contact = services.update_contact(contact=contact, user=request.user, roles=roles)
    except DomainError as exc:
        error = exc.message
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("accounts:detail", pk=pk)
    row = pages.contact_row(contact=contact)
    display_contacts([row], pk, can_change=True, saved=not error, error=error)
    context = {"contacts": [row], "can_change_contact": True, "saved": not error, "error": error}
    return render(request, "accounts/_contact_rows.html", context)


@require_GET
@permission_required("accounts.view_account", raise_exception=True)
def contact_editor(request: HttpRequest, pk: int, contact_id: int) -> HttpResponse:
    """One contact's role editor and "mark as left", on demand: with htmx in place of its row
    (``?view=row`` gives the row back: cancel), without JavaScript as a page of its own."""
    contact = _contact(request, pk, contact_id)
    row = pages.contact_row(contact=contact)
    can_change = request.user.has_perm("accounts.change_contact")
    display_contacts([row], pk, can_change=can_change)
    context = {
        "contact": row,
        "contacts": [row],
        "account": contact.account,
        "can_change_contact": can_change,
        "roles": list(ContactRole.objects.filter(is_active=True)),
    }
    if request.htmx:
        view = request.GET.get("view")
        template = "accounts/_contact_rows.html" if view == "row" or not can_change else None
        return render(request, template or "accounts/_contact_editor.html", context)
    return render(request, "accounts/contact_edit.html", context)


@require_POST
@permission_required("accounts.change_contact", raise_exception=True)
def contact_mark_left(request: HttpRequest, pk: int, contact_id: int) -> HttpResponse:
    contact = _contact(request, pk, contact_id)
    services.contact_left(contact=contact, user=request.user)
    messages.success(request, _("%(name)s marked as left.") % {"name": contact.person.display_name})
    return redirect("accounts:detail", pk=pk)


@require_http_methods(["GET", "POST"])
@permission_required("accounts.add_account", raise_exception=True)
def account_create(request: HttpRequest) -> HttpResponse:
    """A new account from its USCC through the master's resolution: an organization the master
    knows is reused, an account that exists gains the unit."""
    units = BusinessUnit.objects.visible_to(request.user).order_by("code")
    form = AccountCreateForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.create_account(
                uscc=data["uscc"],
                name=data["name"],
                user=request.user,
                business_unit=data["business_unit"],
                fields=form.account_fields(),
                owner=request.user,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if result.created:
                messages.success(request, _("Account created."))
            else:
                messages.info(
                    request,
                    _("This company already had an account; it now also belongs to %(unit)s.")
                    % {"unit": data["business_unit"].name},
                )
            return redirect("accounts:detail", pk=result.account.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/create.html", {"form": form}, status=status)
