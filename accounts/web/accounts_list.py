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
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts import services
from accounts.models import Account
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
    template = "accounts/_rows.html" if request.htmx else "accounts/list.html"
    return render(request, template, context)


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
