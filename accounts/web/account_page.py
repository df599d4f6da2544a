"""The account page: header (USCC, status, owner, units, the blacklist banner), contacts by
department, the group tree, relations, opportunities, the master's transactions and timeline;
and its forms: edit the account, set its parent, assign its owner, add a relation."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import services
from accounts.models import Account, ContactRole
from accounts.selectors import account_page as pages
from accounts.selectors import credit_section_context
from accounts.web.forms import (
    AccountFieldsForm,
    ParentForm,
    RelationForm,
    add_domain_error,
    owner_choices,
)
from accounts.web.page_forms import form_context, form_loaders, may_use_form
from crm.errors import DomainError
from crm.models import Customer, Identity, IdentityType
from crm.money import format_money
from crm.normalizers import InvalidIdentity, mask_phone, normalize_uscc
from crm.policy import get_visible_or_404
from crm.web.blacklist import banner_context
from crm.web.components import customer_name_html, esc
from crm.web.timeline import tab_context


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
    which = request.GET.get("form", "")
    if which and not may_use_form(request.user, which):
        raise Http404
    if request.htmx and request.GET.get("partial") == "form" and which:  # a <details> opened
        return render(request, "accounts/_page_form.html", form_context(account, which))
    return render(
        request, "accounts/detail.html", page_context(request, account, tab, open_form=which)
    )


def page_context(
    request: HttpRequest, account: Account, tab: str = "timeline", **forms: Any
) -> dict[str, Any]:
    user = request.user
    open_form = forms.pop("open_form", "")
    departments, left = pages.contacts_by_department(
        account=account, expand=request.GET.get("group", "")
    )
    groups = [d for d in [*departments, left] if d]
    display_contacts(  # the rows' role names came with them
        [c for d in groups for c in d.contacts],
        account.pk,
        can_change=user.has_perm("accounts.change_contact"),
    )
    show_all_rows(groups, account.pk)
    can_assign = user.has_perm("accounts.assign_account_owner")
    can_change = user.has_perm("accounts.change_account")
    opportunities = pages.opportunities(user=user, account=account)
    context: dict[str, Any] = {
        "account": account,
        "customer": account.customer,
        "units": getattr(account, "unit_badges", None) or [],
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
        "open_form": open_form,
        "form_loaders": form_loaders(account.pk),
        **banner_context(user, account.customer),
        **tab_context(request, account.customer, tab),
    }
    if open_form:
        context.update(form_context(account, open_form, **forms))
    if user.has_perm("accounts.view_creditprofile"):
        # The credit section (rating and limit in the header too): two queries, constant
        # (the blacklist entry is the banner's, the profile read with the header).
        context.update(
            credit_section_context(
                user,
                account,
                open_entry=context["blacklist"],
                profile=pages.credit_profile(account),
            )
        )
    return context


def display_contacts(
    rows: list[pages.ContactRow],
    account_pk: int,
    *,
    can_change: bool = False,
    saved: bool = False,
    error: str = "",
    role_names: dict[int, str] | None = None,
) -> None:
    """What each contact row shows, computed here (the links, the name, the masked phone, the
    role names when the rows came without them: the roles read once, one query, unless
    ``role_names`` gives them) and the
    row's HTML itself: a template loop over 180 rows was most of the page's time, and
    ``format_html`` per value most of what was left (f-strings over ``esc`` now)."""
    person_url = reverse("customer-detail", args=[0])[: -len("0/")]
    editor_url = reverse("accounts:contact-editor", args=[account_pk, 0])[: -len("0/edit/")]
    unnamed = [row for row in rows if row.role_names is None]
    if unnamed:
        names = role_names if role_names is not None else contact_role_names()
        for row in unnamed:
            row.role_names = [names[i] for i in row.role_ids if i in names]
    labels = {
        "primary": (
            ' <span class="badge bg-green-lt ms-1" data-testid="primary-badge">'
            f"{esc(_('Primary'))}</span>"
        ),
        "no_role": f'<span class="text-secondary small">{esc(_("No role"))}</span>',
        "edit": esc(_("Edit")),
        "status": (
            ' <span class="text-success small ms-1" role="status" data-testid="roles-saved">'
            f"{esc(_('Saved.'))}</span>"
        )
        if saved
        else "",
    }
    if error:
        labels["status"] = f' <span class="text-danger small ms-1" role="alert">{esc(error)}</span>'
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
        row.html = _row_html(row, labels, can_change)


def show_all_rows(groups: list[pages.Department], account_pk: int) -> None:
    """The "show all" row of each group with hidden contacts (htmx swaps in the rest; without
    JavaScript the link opens the page with the group whole)."""
    detail = reverse("accounts:detail", args=[account_pk])
    for group in groups:
        if not group.hidden:
            continue
        key = esc(quote(group.key, safe="/"))
        label = esc(_("Show all %(n)s") % {"n": group.total})
        group.show_all_html = mark_safe(  # noqa: S308 (escaped)
            '<tr data-testid="show-all-row"><td colspan="4" class="text-center py-2">'
            f'<a href="{detail}?group={key}#contacts" hx-get="{detail}?partial=group&amp;'
            f'group={key}" hx-target="closest tr" hx-swap="outerHTML" data-testid="show-all">'
            f"{label}</a>\n</td></tr>"
        )


def contact_role_names() -> dict[int, str]:
    """Every contact role's name in the active language, by id (one query)."""
    return {r.pk: r.name for r in ContactRole.objects.only("name_zh", "name_en")}


def _row_html(row: pages.ContactRow, labels: dict[str, str], can_change: bool) -> SafeString:
    badges = (
        "".join(
            f'<span class="badge bg-blue-lt me-1" data-testid="role-badge">{esc(n)}</span>'
            for n in row.role_names or ()
        )
        or labels["no_role"]
    )
    if row.left_on is not None:
        action = f'<span class="text-secondary small">{row.left_on.strftime("%Y-%m-%d")}</span>'
    elif can_change:
        url = esc(row.editor_url)
        action = (
            f'<a href="{url}" hx-get="{url}" hx-target="#contact-{row.id}" hx-swap="outerHTML"'
            ' class="btn btn-sm btn-ghost-secondary" data-testid="contact-edit">'
            f"{labels['edit']}</a>"
        )
    else:
        action = ""
    title = f'<div class="small text-secondary">{esc(row.title)}</div>' if row.title else ""
    return mark_safe(  # noqa: S308 (every value escaped)
        f'<tr data-testid="contact-row" id="contact-{row.id}">'
        f'<td><a href="{esc(row.url)}" class="fw-medium">{row.name_html}</a>'
        f"{labels['primary'] if row.is_primary else ''}{title}</td>"
        f'<td class="font-monospace small">{esc(row.phone_masked)}</td>'
        f'<td><div data-testid="contact-roles">{badges}{labels["status"]}</div></td>'
        f'<td class="text-end text-nowrap">{action}</td></tr>\n'
    )


def opportunity_rows_html(opportunities: list[pages.OpportunityRow]) -> SafeString:
    """The opportunities table's rows, made here like the contacts' (a template loop over
    40 rows was a fifth of the page's rendering)."""
    detail = reverse("accounts:opportunity-detail", args=[0])[: -len("0/")]
    out = []
    for o in opportunities:
        color = "bg-green-lt" if o.is_won else "bg-red-lt" if o.is_lost else "bg-blue-lt"
        close = o.expected_close.strftime("%Y-%m-%d") if o.expected_close else "—"
        out.append(
            f'<tr data-testid="opportunity-row"><td><a href="{detail}{o.pk}/">{esc(o.name)}</a>'
            f' <span class="badge bg-secondary-lt ms-1" title="{esc(o.unit_name)}">'
            f'{esc(o.unit_code)}</span></td><td><span class="badge {color}">{esc(o.stage_name)}'
            f'</span> <span class="small text-secondary">{o.probability}%</span></td>'
            '<td class="text-end font-monospace text-nowrap" data-testid="opportunity-amount">'
            f"{esc(format_money(o.amount, o.currency))}</td>"
            f'<td class="text-nowrap">{close}</td>'
            f"<td>{esc(o.owner_name)}</td></tr>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 (every value escaped)


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
