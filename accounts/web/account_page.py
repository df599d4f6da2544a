"""The account page: header (USCC, status, owner, units, the blacklist banner), contacts by
department, the group tree, relations, opportunities, the master's transactions and timeline;
and its forms: edit the account, set its parent, assign its owner, add a relation."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import services
from accounts.models import Account, ContactRole, Opportunity
from accounts.selectors import account_page as pages
from accounts.selectors import credit_section_context
from accounts.web.forms import (
    AccountFieldsForm,
    ContactAddForm,
    ParentForm,
    RelationForm,
    add_domain_error,
    owner_choices,
)
from crm.errors import DomainError
from crm.models import Customer, Identity, IdentityType
from crm.money import format_money
from crm.normalizers import InvalidIdentity, mask_phone, normalize_uscc
from crm.policy import get_visible_or_404
from crm.web.blacklist import banner_context
from crm.web.components import customer_name_html
from crm.web.timeline import tab_context

_EDIT_FIELDS = ("industry", "size_band", "status", "province", "city", "address", "website")


def visible_account(request: HttpRequest, pk: int) -> Account:
    """The account in the user's scope, or a 404 (every route of an account starts here)."""
    return get_visible_or_404(Account.objects, request.user, pk=pk)


def find_account(user: Any, text: str) -> Account | None:
    """An account the user may see, by its number or its USCC (one query)."""
    text = text.strip()
    accounts = Account.objects.visible_to(user).select_related("customer")
    if text.isdigit() and len(text) < 12:
        return accounts.filter(pk=int(text)).first()
    try:
        uscc = normalize_uscc(text)
    except InvalidIdentity:
        return None
    owners = Identity.objects.filter(type=IdentityType.USCC, value=uscc).values("customer_id")
    return accounts.filter(customer__in=owners).first()


@require_GET
@permission_required("accounts.view_account", raise_exception=True)
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        account = pages.page_account(user=request.user, pk=pk)
    except Account.DoesNotExist as exc:
        raise Http404 from exc
    tab = request.GET.get("tab", "timeline")
    tab = tab if tab in ("timeline", "transactions") else "timeline"
    if request.htmx and request.GET.get("partial") == "tab":
        return render(
            request, "crm/customers/_tab.html", tab_context(request, account.customer, tab)
        )
    if request.htmx and request.GET.get("partial") == "group":  # "show all" of a department
        rows = pages.group_rest(account=account, key=request.GET.get("group", ""))
        can = request.user.has_perm("accounts.change_contact")
        display_contacts(rows, account.pk, can_change=can)
        return render(request, "accounts/_contact_rows.html", {"contacts": rows})
    return render(request, "accounts/detail.html", page_context(request, account, tab))


def page_context(
    request: HttpRequest, account: Account, tab: str = "timeline", **forms: Any
) -> dict[str, Any]:
    user = request.user
    departments, left = pages.contacts_by_department(
        account=account, expand=request.GET.get("group", "")
    )
    display_contacts(
        [c for d in [*departments, left] if d for c in d.contacts],
        account.pk,
        can_change=user.has_perm("accounts.change_contact"),
    )
    can_assign = user.has_perm("accounts.assign_account_owner")
    can_change = user.has_perm("accounts.change_account")
    opportunities = pages.opportunities(user=user, account=account)
    context: dict[str, Any] = {
        "account": account,
        "customer": account.customer,
        "units": list(account.business_units.all()),
        "departments": departments,
        "left_contacts": left,
        "contact_count": sum(d.total for d in departments),
        "tree": pages.flatten(pages.hierarchy(user=user, account=account)),
        "relations": pages.relations(account=account),
        "opportunities": opportunities,
        "opportunities_html": opportunity_rows_html(opportunities),
        "can_change": can_change,
        "can_assign": can_assign,
        "can_add_contact": user.has_perm("accounts.add_contact"),
        "can_change_contact": user.has_perm("accounts.change_contact"),
        "can_relate": user.has_perm("accounts.add_accountrelation"),
        "owners": owner_choices(account.business_units.all()) if can_assign else [],
        "edit_form": forms.get("edit_form")
        or AccountFieldsForm(initial={f: getattr(account, f) for f in _EDIT_FIELDS}),
        "contact_form": forms.get("contact_form") or ContactAddForm(),
        "relation_form": forms.get("relation_form") or RelationForm(),
        "parent_form": forms.get("parent_form")
        or ParentForm(initial={"parent": account.parent_id or ""}),
        "open_form": forms.get("open_form", ""),
        **banner_context(user, account.customer),
        **tab_context(request, account.customer, tab),
    }
    if user.has_perm("accounts.view_creditprofile"):
        # The credit section (rating and limit in the header too): three queries, constant
        # (the blacklist entry is the banner's).
        context.update(credit_section_context(user, account, open_entry=context["blacklist"]))
    return context


def display_contacts(
    rows: list[pages.ContactRow],
    account_pk: int,
    *,
    can_change: bool = False,
    saved: bool = False,
    error: str = "",
) -> None:
    """What each contact row shows, computed here (the links, the name, the masked phone, the
    role names: the roles read once, one query) and the row's HTML itself: a template loop
    over 180 rows was most of the page's time."""
    person_url = reverse("customer-detail", args=[0])[: -len("0/")]
    editor_url = reverse("accounts:contact-editor", args=[account_pk, 0])[: -len("0/edit/")]
    names = {r.pk: r.name for r in ContactRole.objects.only("name_zh", "name_en")} if rows else {}
    labels = {
        "primary": format_html(
            ' <span class="badge bg-green-lt ms-1" data-testid="primary-badge">{}</span>',
            _("Primary"),
        ),
        "no_role": format_html('<span class="text-secondary small">{}</span>', _("No role")),
        "edit": _("Edit"),
        "status": format_html(
            ' <span class="text-success small ms-1" role="status" data-testid="roles-saved">{}'
            "</span>",
            _("Saved."),
        )
        if saved
        else "",
    }
    if error:
        labels["status"] = format_html(
            ' <span class="text-danger small ms-1" role="alert">{}</span>', error
        )
    for row in rows:
        row.url = f"{person_url}{row.person_id}/"
        row.editor_url = f"{editor_url}{row.id}/edit/"
        row.name_html = customer_name_html(row)
        row.shown_name = (
            Customer(display_name=row.display_name, name_is_generated=True).shown_name
            if row.name_is_generated
            else row.display_name
        )
        row.phone_masked = mask_phone(row.phone) if row.phone else "—"
        row.role_names = [names[i] for i in row.role_ids if i in names]
        row.html = _row_html(row, labels, can_change)


def _row_html(row: pages.ContactRow, labels: dict[str, Any], can_change: bool) -> str:
    badges = (
        format_html_join(
            "",
            '<span class="badge bg-blue-lt me-1" data-testid="role-badge">{}</span>',
            ((n,) for n in row.role_names),
        )
        or labels["no_role"]
    )
    if row.left_on is not None:
        action = format_html(
            '<span class="text-secondary small">{}</span>', row.left_on.strftime("%Y-%m-%d")
        )
    elif can_change:
        action = format_html(
            '<a href="{0}" hx-get="{0}" hx-target="#contact-{1}" hx-swap="outerHTML"'
            ' class="btn btn-sm btn-ghost-secondary" data-testid="contact-edit">{2}</a>',
            row.editor_url,
            row.id,
            labels["edit"],
        )
    else:
        action = ""
    return format_html(
        '<tr data-testid="contact-row" id="contact-{}">'
        '<td><a href="{}" class="fw-medium">{}</a>{}{}</td>'
        '<td class="font-monospace small">{}</td>'
        '<td><div data-testid="contact-roles">{}{}</div></td>'
        '<td class="text-end text-nowrap">{}</td></tr>\n',
        row.id,
        row.url,
        mark_safe(row.name_html),  # noqa: S308 (customer_name_html escapes)
        labels["primary"] if row.is_primary else "",
        format_html('<div class="small text-secondary">{}</div>', row.title) if row.title else "",
        row.phone_masked,
        badges,
        labels["status"],
        action,
    )


def opportunity_rows_html(opportunities: list[Opportunity]) -> SafeString:
    """The opportunities table's rows, made here like the contacts' (a template loop over
    40 rows was a fifth of the page's rendering)."""
    detail = reverse("accounts:opportunity-detail", args=[0])[: -len("0/")]
    out = []
    for o in opportunities:
        stage = o.stage
        color = "bg-green-lt" if stage.is_won else "bg-red-lt" if stage.is_lost else "bg-blue-lt"
        owner = o.owner
        out.append(
            format_html(
                '<tr data-testid="opportunity-row"><td><a href="{}{}/">{}</a> <span class="badge'
                ' bg-secondary-lt ms-1" title="{}">{}</span></td><td><span class="badge {}">{}'
                '</span> <span class="small text-secondary">{}%</span></td><td class="text-end'
                ' font-monospace text-nowrap" data-testid="opportunity-amount">{}</td>'
                '<td class="text-nowrap">{}</td><td>{}</td></tr>\n',
                detail,
                o.pk,
                o.name,
                o.business_unit.name,
                o.business_unit.code,
                color,
                stage.name,
                stage.probability,
                format_money(o.amount, o.currency),
                o.expected_close.strftime("%Y-%m-%d") if o.expected_close else "—",
                owner.get_full_name() or owner.username,
            )
        )
    return mark_safe("".join(out))  # noqa: S308 (format_html above)


def _rerender(request: HttpRequest, account: Account, **forms: Any) -> HttpResponse:
    """The page again with the refused form's errors (status 400)."""
    fresh = pages.page_account(user=request.user, pk=account.pk)
    return render(
        request, "accounts/detail.html", page_context(request, fresh, **forms), status=400
    )


@require_POST
@permission_required("accounts.change_account", raise_exception=True)
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = visible_account(request, pk)
    form = AccountFieldsForm(request.POST)
    if form.is_valid():
        try:
            services.update_account(
                account=account, user=request.user, fields=form.account_fields()
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _saved())
            return redirect("accounts:detail", pk=account.pk)
    return _rerender(request, account, edit_form=form, open_form="edit")


@require_POST
@permission_required("accounts.change_account", raise_exception=True)
def account_set_parent(request: HttpRequest, pk: int) -> HttpResponse:
    account = visible_account(request, pk)
    form = ParentForm(request.POST)
    if form.is_valid():
        text = form.cleaned_data["parent"].strip()
        parent = find_account(request.user, text) if text else None
        if text and parent is None:
            form.add_error("parent", _no_account())
        else:
            try:
                services.set_parent(account=account, parent=parent, user=request.user)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _saved())
                return redirect("accounts:detail", pk=account.pk)
    return _rerender(request, account, parent_form=form, open_form="parent")


@require_POST
@permission_required("accounts.view_account", raise_exception=True)
def account_assign_owner(request: HttpRequest, pk: int) -> HttpResponse:
    account = visible_account(request, pk)
    if not request.user.has_perm("accounts.assign_account_owner"):
        raise PermissionDenied
    raw = request.POST.get("owner", "")
    owner = (
        owner_choices(account.business_units.all()).filter(pk=int(raw)).first()
        if raw.isdigit()
        else None
    )
    if raw and owner is None:
        messages.error(request, _("Choose an owner from the account's business units."))
    else:
        services.assign_owner(account=account, owner=owner, user=request.user)
        messages.success(request, _saved())
    return redirect("accounts:detail", pk=account.pk)


@require_POST
@permission_required("accounts.add_accountrelation", raise_exception=True)
def relation_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = visible_account(request, pk)
    form = RelationForm(request.POST)
    if form.is_valid():
        other = find_account(request.user, form.cleaned_data["to_account"])
        if other is None:
            form.add_error("to_account", _no_account())
        else:
            try:
                services.add_relation(
                    from_account=account,
                    to_account=other,
                    kind=form.cleaned_data["kind"],
                    user=request.user,
                    valid_from=form.cleaned_data.get("valid_from"),
                    valid_to=form.cleaned_data.get("valid_to"),
                    note=form.cleaned_data.get("note", ""),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _saved())
                return redirect("accounts:detail", pk=account.pk)
    return _rerender(request, account, relation_form=form, open_form="relation")


def _saved() -> str:
    return _("Saved.")


def _no_account() -> str:
    return _("No account you can see has this number or USCC.")
