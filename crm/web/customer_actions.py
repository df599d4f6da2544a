"""Actions of the customer list: create a customer (with a live duplicate warning) and tag
many customers at once (the selected rows, or every customer matching the filter)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import selectors, services
from crm.errors import DomainError
from crm.models import Tag
from crm.web.customer_forms import IDENTITY_FIELDS, CustomerCreateForm

MAX_SELECTED = 1000


@require_http_methods(["GET", "POST"])
@permission_required("crm.add_customer", raise_exception=True)
def customer_create(request: HttpRequest) -> HttpResponse:
    form = CustomerCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            resolution = services.resolve_customer(
                identities=form.identities(),
                attributes={"display_name": data["display_name"], "kind": data["kind"]},
                source="web",
                actor=request.user,
                business_unit=data["business_unit"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            customer = resolution.customer
            if resolution.created:
                messages.success(request, _("Customer created."))
            else:
                messages.info(
                    request,
                    _(
                        "A customer with these details already existed: this is it. "
                        "New details were added to it."
                    ),
                )
            return redirect("customer-detail", pk=customer.pk)
    warnings, error = _warnings(request, request.POST) if form.errors else ([], "")
    status = 400 if form.errors else 200
    context = {"form": form, "warnings": warnings, "error": error}
    return render(request, "crm/customers/create.html", context, status=status)


@require_GET
@permission_required("crm.add_customer", raise_exception=True)
def customer_create_check(request: HttpRequest) -> HttpResponse:
    """The live duplicate warning of the create form (htmx, on change): who already owns the
    phone, e-mail or credit code typed, named as on every screen (masked)."""
    warnings, error = _warnings(request, request.GET)
    return render(
        request, "crm/customers/_duplicate_warning.html", {"warnings": warnings, "error": error}
    )


def _warnings(request: HttpRequest, params: Any) -> tuple[list[dict[str, Any]], str]:
    """Who already owns the identities typed (full values only), named masked; a user who
    may not reveal has these lookups counted like searches by phone or e-mail."""
    values = {name: str(params.get(name, ""))[:254] for name in IDENTITY_FIELDS}
    for name in ("mobile", "email"):
        if values[name].strip():
            try:
                services.check_identity_search(user=request.user, query=values[name])
            except services.IdentitySearchesExhausted as exc:
                return [], exc.message
    labels = {
        "mobile": _("A customer with this phone already exists:"),
        "email": _("A customer with this e-mail already exists:"),
        "uscc": _("A customer with this credit code already exists:"),
    }
    owners = selectors.identity_owners(
        {name: (type_, values[name]) for name, type_ in IDENTITY_FIELDS.items()}
    )
    warnings = [
        {"label": labels[o.field], "customer": o.customer, "field": o.field} for o in owners
    ]
    return warnings, ""


def _bulk_tag(request: HttpRequest) -> Tag:
    try:
        pk = int(request.POST.get("bulk_tag") or request.GET.get("bulk_tag") or 0)
    except ValueError:
        pk = 0
    return get_object_or_404(Tag.objects.select_related("category"), pk=pk)


def _list_url(query: str) -> str:
    spec = services.known_list(selectors.CUSTOMER_LIST_KEY)
    kept = services.sanitize_query(spec, query)
    return reverse("customer-list") + (f"?{kept}" if kept else "")


@require_POST
@permission_required("crm.view_customer", raise_exception=True)
def customer_bulk_tag(request: HttpRequest) -> HttpResponse:
    """Add or remove a tag on the rows selected on the page (the dialog confirmed the count)."""
    remove = request.POST.get("action") == "remove"
    try:
        services.check_bulk_tag_permission(user=request.user, remove=remove)
    except services.BulkTagRefused as exc:
        raise PermissionDenied(exc.message) from exc
    tag = _bulk_tag(request)
    ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit()][: MAX_SELECTED + 1]
    back = _list_url(request.POST.get("query", ""))
    if not ids:
        messages.error(request, _("Select at least one customer."))
        return redirect(back)
    if len(ids) > MAX_SELECTED:
        messages.error(request, _("Select fewer customers, or apply to all matching the filter."))
        return redirect(back)
    changed = services.tag_customers(customer_ids=ids, tag=tag, actor=request.user, remove=remove)
    messages.success(request, _outcome_message(tag, remove, len(set(ids)), changed))
    return redirect(back)


def _outcome_message(tag: Tag, remove: bool, selected: int, changed: int) -> str:
    if remove:
        text = ngettext(
            "Tag “%(tag)s” removed from %(changed)d of %(count)d customer.",
            "Tag “%(tag)s” removed from %(changed)d of %(count)d customers.",
            selected,
        )
    else:
        text = ngettext(
            "Tag “%(tag)s” added to %(changed)d of %(count)d customer.",
            "Tag “%(tag)s” added to %(changed)d of %(count)d customers.",
            selected,
        )
    return text % {"tag": tag.name, "changed": changed, "count": selected}


@require_http_methods(["GET", "POST"])
@permission_required("crm.view_customer", raise_exception=True)
def customer_bulk_tag_all(request: HttpRequest) -> HttpResponse:
    """Tag every customer matching the list's filter: a page that counts them and asks, then
    the action (a job with progress beyond ``BULK_TAG_SYNC_LIMIT``)."""
    params = request.POST if request.method == "POST" else request.GET
    filters = selectors.CustomerFilters.from_params(params)
    may_add = request.user.has_perm("crm.add_customertag")
    may_remove = request.user.has_perm("crm.delete_customertag")
    if not (may_add or may_remove):
        raise PermissionDenied
    error = ""
    if request.method == "POST":
        remove = request.POST.get("action") == "remove"
        tag = _bulk_tag(request)
        try:
            expected = int(request.POST.get("expected", ""))
        except ValueError:
            expected = -1
        try:
            outcome = services.tag_matching_customers(
                user=request.user, filters=filters, tag=tag, remove=remove, expected=expected
            )
        except services.BulkTagRefused as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            error = exc.message
        else:
            if outcome.job is not None:
                messages.success(request, _("Tagging started; follow its progress here."))
                return redirect("job-detail", pk=outcome.job.pk)
            messages.success(
                request, _outcome_message(tag, remove, outcome.matched, outcome.changed or 0)
            )
            return redirect(_list_url(params.urlencode()))
    customers, _audit = selectors.matching_customers(user=request.user, filters=filters)
    context = {
        "filters": filters,
        "filter_params": filters.as_params(),
        "count": customers.count(),
        "tags": Tag.objects.select_related("category").order_by("category__name", "name"),
        "may_add": may_add,
        "may_remove": may_remove,
        "back": _list_url(params.urlencode()),
        "error": error,
        "sync_limit": services.BULK_TAG_SYNC_LIMIT,
        "chosen_tag": params.get("bulk_tag", ""),
        "chosen_action": params.get("action", "add"),
    }
    return render(request, "crm/customers/bulk_tag_all.html", context, status=409 if error else 200)
