"""The account list: filters in the URL (savable as a named view, exportable), keyset pages,
and the bulk actions on the selected rows (assign an owner, add a tag) after a confirmation
page that names the accounts."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts import services
from accounts.models import Account, AccountStatus, Industry
from accounts.selectors.lists import (
    ACCOUNT_LIST_KEY,
    AccountFilters,
    AccountPage,
    account_page,
    province_choices,
)
from accounts.web.forms import AccountFilterForm, owner_choices
from crm import services as crm_services
from crm.errors import DomainError
from crm.middleware import client_ip
from crm.models import BusinessUnit, Tag
from crm.templatetags.crm_tags import icon
from crm.web.components import customer_name_html, esc

MAX_SELECTED = 100


def _list_url(query: str) -> str:
    kept = crm_services.sanitize_query(crm_services.known_list(ACCOUNT_LIST_KEY), query)
    return reverse("accounts:list") + (f"?{kept}" if kept else "")


@require_GET
@permission_required("accounts.view_account", raise_exception=True)
def account_list(request: HttpRequest) -> HttpResponse:
    filters = AccountFilters.from_params(request.GET)
    sort = request.GET.get("sort", "-id")
    try:
        crm_services.check_identity_search(user=request.user, query=filters.query)
        page = account_page(
            user=request.user, filters=filters, sort=sort, after=request.GET.get("after", "")
        )
    except crm_services.IdentitySearchesExhausted as exc:
        messages.error(request, exc.message)
        page = AccountPage(rows=[], has_next=False, next_cursor="", sort=sort)
    if page.audit:  # a fragment search inside personal identities: recorded like a reveal
        crm_services.record_pii_search(
            user=request.user,
            query=filters.query,
            kind=page.audit,
            customers=[a.customer for a in page.rows],
            ip=client_ip(request),
        )
    units = BusinessUnit.objects.visible_to(request.user).order_by("code")
    form = AccountFilterForm(
        initial={**filters.as_params()},
        units=units,
        owners=owner_choices(units),
        provinces=province_choices(selected=filters.province),
    )
    can_assign = request.user.has_perm("accounts.assign_account_owner")
    can_tag = request.user.has_perm("crm.add_customertag")
    context = {
        "page": page,
        "form": form,
        "sort": page.sort,
        "filtered": filters.active,
        "first_page": not request.GET.get("after"),
        "filter_query": crm_services.sanitize_query(
            crm_services.known_list(ACCOUNT_LIST_KEY), request.GET
        ),
        "list_key": ACCOUNT_LIST_KEY,
        "can_assign": can_assign,
        "can_tag": can_tag,
        "can_bulk": can_assign or can_tag,
        "can_reveal": request.user.has_perm("crm.reveal_customer_pii"),
        "tags": Tag.objects.select_related("category").order_by("category__name", "name")
        if can_tag
        else [],
        "owners": form.fields["owner"].choices[3:] if can_assign else [],
    }
    context["rows_html"] = rows_html(page.rows, can_bulk=context["can_bulk"])
    template = "accounts/_rows.html" if request.htmx else "accounts/list.html"
    return render(request, template, context)


_STATUS_COLORS = {"active": "green", "prospect": "azure", "dormant": "yellow"}
# The labels by value (lazy), looked up once a row: ``get_FOO_display`` builds a dict of every
# choice per call, hashing each lazy label (a translation each), ~600 a page.
_INDUSTRIES = dict(Industry.choices)
_STATUSES = dict(AccountStatus.choices)
_RATING_COLORS = {"A": "green", "B": "yellow"}


def rows_html(rows: list[Account], *, can_bulk: bool) -> SafeString:
    """The list's rows, made here: a template loop over 25 rows of ten cells each was a
    large part of the page's time (f-strings over ``esc``, not ``format_html`` per value)."""
    detail = reverse("accounts:detail", args=[0])[: -len("0/")]
    dash = '<span class="text-secondary">—</span>'
    mark = (
        '<span class="badge bg-red text-red-fg ms-1" data-testid="blacklist-mark" title="'
        f'{esc(_("Blacklisted: see the customer for since when and why"))}">'
        f"{icon('ban')}{esc(_('Blacklisted'))}</span>"
    )
    select_label = _("Select %(name)s")
    out = []
    for a in rows:
        customer = a.customer
        select = (
            '<td><input class="form-check-input m-0 align-middle" type="checkbox" name="ids"'
            f' value="{a.pk}" form="account-bulk-form"'
            f' aria-label="{esc(select_label % {"name": customer.display_name})}"'
            ' data-testid="bulk-select"></td>'
            if can_bulk
            else ""
        )
        region = "—"
        if a.province or a.city:
            region = a.province
            if a.city and a.city != a.province:
                region = f"{a.province} {a.city}"
        profile = getattr(a, "credit_profile", None)
        rating = (
            f'<span class="badge bg-{_RATING_COLORS.get((profile.rating or "")[:1], "red")}-lt">'
            f"{esc(profile.rating)}</span>"
            if profile is not None
            else dash
        )
        owner = a.owner
        units = "".join(
            f'<span class="badge bg-secondary-lt me-1" title="{esc(u["name"])}">'
            f"{esc(u['code'])}</span>"
            for u in getattr(a, "unit_badges", ())
        )
        out.append(
            f'<tr data-testid="account-row">{select}<td><a href="{detail}{a.pk}/"'
            f' class="fw-medium">{customer_name_html(customer)}</a>'
            f"{mark if getattr(a, 'blacklisted', False) else ''}"
            f'<div class="small text-secondary">#{a.pk}</div></td>'
            f'<td class="font-monospace small">{esc(getattr(a, "uscc", None) or "—")}</td>'
            f'<td class="text-secondary">{esc(_INDUSTRIES.get(a.industry, a.industry) or "—")}</td>'
            f'<td class="text-secondary">{esc(region)}</td>'
            f'<td><span class="badge bg-{_STATUS_COLORS.get(a.status, "secondary")}-lt">'
            f"{esc(_STATUSES.get(a.status, a.status))}</span></td>"
            f'<td data-testid="account-rating">{rating}</td>'
            f"<td>{esc(owner.get_full_name() or owner.username) if owner else dash}</td>"
            f"<td>{units}</td>"
            f'<td class="text-end">{esc(getattr(a, "contact_count", ""))}</td>'
            f'<td class="text-end">{esc(getattr(a, "open_count", ""))}</td>'
            '<td class="text-secondary text-nowrap">'
            f"{localtime(a.created_at).strftime('%Y-%m-%d') if a.created_at else ''}</td></tr>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 (every value escaped)


def _selected(request: HttpRequest) -> list[Account]:
    ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit()][: MAX_SELECTED + 1]
    if len(ids) > MAX_SELECTED:
        return ids  # type: ignore[return-value]  # the caller refuses the count
    return list(
        Account.objects.visible_to(request.user)
        .filter(pk__in=ids)
        .select_related("customer", "owner")
        .order_by("customer__display_name", "id")
    )


@require_POST
@permission_required("accounts.view_account", raise_exception=True)
def account_bulk(request: HttpRequest) -> HttpResponse:
    """First post: the confirmation page (which accounts, what will happen); the second, with
    ``confirm=1``, applies it through the services and goes back to the filtered list."""
    action = request.POST.get("action", "")
    back = _list_url(request.POST.get("query", ""))
    if action == "assign_owner" and not request.user.has_perm("accounts.assign_account_owner"):
        raise PermissionDenied
    if action == "add_tag" and not request.user.has_perm("crm.add_customertag"):
        raise PermissionDenied
    if action not in ("assign_owner", "add_tag"):
        messages.error(request, _("Choose an action."))
        return redirect(back)
    accounts = _selected(request)
    if len(accounts) > MAX_SELECTED:
        messages.error(
            request, _("Select at most %(max)d accounts at once.") % {"max": MAX_SELECTED}
        )
        return redirect(back)
    if not accounts:
        messages.error(request, _("Select at least one account."))
        return redirect(back)
    target: Any = _bulk_target(request, action)
    if target is None:
        messages.error(
            request, _("Choose an owner.") if action == "assign_owner" else _("Choose a tag.")
        )
        return redirect(back)
    if request.POST.get("confirm") != "1":
        context = {
            "accounts": accounts,
            "action": action,
            "target": target,
            "query": request.POST.get("query", ""),
            "back": back,
        }
        return render(request, "accounts/bulk_confirm.html", context)
    try:
        if action == "assign_owner":
            for account in accounts:
                services.assign_owner(account=account, owner=target, user=request.user)
            done = ngettext(
                "%(count)d account now owned by %(owner)s.",
                "%(count)d accounts now owned by %(owner)s.",
                len(accounts),
            ) % {"count": len(accounts), "owner": target.get_full_name() or target.username}
        else:
            changed = crm_services.tag_customers(
                customer_ids=[a.customer_id for a in accounts], tag=target, actor=request.user
            )
            done = ngettext(
                "Tag “%(tag)s” added to %(changed)d of %(count)d account.",
                "Tag “%(tag)s” added to %(changed)d of %(count)d accounts.",
                len(accounts),
            ) % {"tag": target.name, "changed": changed, "count": len(accounts)}
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect(back)


def _bulk_target(request: HttpRequest, action: str) -> Any:
    """The owner (a user of one of the units the acting user sees) or the tag chosen."""
    raw = request.POST.get("owner" if action == "assign_owner" else "tag", "")
    if not raw.isdigit():
        return None
    if action == "assign_owner":
        units = BusinessUnit.objects.visible_to(request.user)
        return owner_choices(units).filter(pk=int(raw)).first()
    return Tag.objects.filter(pk=int(raw)).first()
