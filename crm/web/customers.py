"""Customer screens: the list, the 360-degree view, revealing personal data, the duplicate
review queue and the merge."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import selectors, services
from crm.errors import DomainError
from crm.middleware import client_ip
from crm.models import (
    PII_IDENTITY_TYPES,
    BusinessUnit,
    ConsentChannel,
    ConsentPurpose,
    Customer,
    CustomerKind,
    DuplicateCandidate,
    DuplicateStatus,
    IdentityType,
    LifecycleStage,
    Merge,
    RfmSegment,
    Tag,
)
from crm.money import format_money
from crm.normalizers import mask_phone
from crm.policy import get_visible_or_404
from crm.registry import customer_panels, merge_handlers
from crm.web.blacklist import banner_context
from crm.web.components import customer_name_html, paginate
from crm.web.timeline import tab_context


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@require_GET
@permission_required("crm.view_customer", raise_exception=True)
def customer_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    kind = request.GET.get("kind", "")
    kind = kind if kind in CustomerKind.values else ""
    unit_id = _int_or_none(request.GET.get("unit"))
    tag_id = _int_or_none(request.GET.get("tag"))
    stage = request.GET.get("stage", "")
    stage = stage if stage in LifecycleStage.values else ""
    segment = request.GET.get("segment", "")
    segment = segment if segment in RfmSegment.values else ""
    sort = request.GET.get("sort", "-id")
    try:
        services.check_identity_search(user=request.user, query=query)
        page = selectors.customer_list(
            user=request.user,
            query=query,
            kind=kind,
            business_unit=unit_id,
            tag=tag_id,
            stage=stage,
            segment=segment,
            sort=sort,
            after=request.GET.get("after", ""),
        )
    except services.IdentitySearchesExhausted as exc:
        messages.error(request, exc.message)
        page = selectors.CustomerPage(rows=[], has_next=False, next_cursor="", sort=sort)
    _display_rows(page.rows)
    if page.audit:  # a search inside personal identities: recorded like a reveal
        services.record_pii_search(
            user=request.user,
            query=query,
            kind=page.audit,
            customers=page.rows,
            ip=client_ip(request),
        )
    filtered = bool(query or kind or unit_id or tag_id or stage or segment)
    can_add_tag = request.user.has_perm("crm.add_customertag")
    can_remove_tag = request.user.has_perm("crm.delete_customertag")
    context = {
        "page": page,
        "query": query,
        "kind": kind,
        "unit_id": unit_id,
        "tag_id": tag_id,
        "stage": stage,
        "segment": segment,
        "stages": LifecycleStage.choices,
        "segments": RfmSegment.choices,
        "sort": page.sort,
        "kinds": CustomerKind.choices,
        "units": BusinessUnit.objects.visible_to(request.user).order_by("code"),
        "tags": Tag.objects.select_related("category").order_by("category__name", "name"),
        "first_page": not request.GET.get("after"),
        "filtered": filtered,
        "estimated_total": None if filtered else selectors.estimated_customer_count(),
        "can_reveal": request.user.has_perm("crm.reveal_customer_pii"),
        # saved views, bulk tags and exports read the filter from the query string
        "filter_query": services.sanitize_query(
            services.known_list(selectors.CUSTOMER_LIST_KEY), request.GET
        ),
        "can_add_tag": can_add_tag,
        "can_remove_tag": can_remove_tag,
        "can_bulk": can_add_tag or can_remove_tag,
    }
    template = "crm/customers/_rows.html" if request.htmx else "crm/customers/list.html"
    return render(request, template, context)


def _display_rows(rows: list[Customer]) -> None:
    """What each list row shows, computed here: the template only prints (filters, tags,
    ``{% url %}`` and ``{% blocktranslate %}`` in a 25-row loop were most of its rendering)."""
    url = reverse("customer-detail", args=[0])[: -len("0/")]
    kinds = {value: str(label) for value, label in CustomerKind.choices}
    select = _("Select customer #%(id)s")
    for c in rows:
        c.url = f"{url}{c.pk}/"  # type: ignore[attr-defined]
        c.name_html = customer_name_html(c)  # type: ignore[attr-defined]
        c.kind_label = kinds.get(c.kind, c.kind)  # type: ignore[attr-defined]
        c.select_label = select % {"id": c.pk}  # type: ignore[attr-defined]
        c.phone_masked = mask_phone(c.phone) if c.phone else "—"  # type: ignore[attr-defined]
        last = c.last_purchase  # type: ignore[attr-defined]
        c.last_purchase_day = localtime(last).strftime("%Y-%m-%d") if last else "—"  # type: ignore[attr-defined]
        c.added_day = localtime(c.created_at).strftime("%Y-%m-%d")  # type: ignore[attr-defined]


@require_GET
@permission_required("crm.view_customer", raise_exception=True)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    if customer.merged_into_id is not None:  # an old link: the survivor answers it
        messages.info(
            request,
            _("“%(name)s” (#%(id)d) was merged into this customer.")
            % {"name": customer.shown_name, "id": pk},
        )
        return redirect("customer-detail", pk=customer.merged_into_id)
    tab = request.GET.get("tab", "timeline")
    if tab not in ("timeline", "transactions"):
        tab = "timeline"
    if request.htmx and request.GET.get("partial") == "tab":
        return render(request, "crm/customers/_tab.html", tab_context(request, customer, tab))
    services.record_recent_view(user=request.user, customer=customer)
    can_reveal = request.user.has_perm("crm.reveal_customer_pii")
    overview = selectors.customer_overview(user=request.user, customer=customer)
    context: dict[str, Any] = {
        "customer": customer,
        "can_reveal": can_reveal,
        "reveal_types": _reveal_types(overview["identities"]) if can_reveal else [],
        "can_tag": request.user.has_perm("crm.add_customertag"),
        "can_consent": request.user.has_perm("crm.add_consent"),
        "consent_channels": ConsentChannel.choices,
        "consent_purposes": ConsentPurpose.choices,
        "purchase_help": selectors.PURCHASE_HELP,
        **overview,
        **tab_context(request, customer, tab),
        **banner_context(request.user, customer),
    }
    for unit in context["units"]:
        unit["spend_display"] = format_money(unit["spend"], unit["currency"])
    context["panels"] = [
        {"panel": panel, "context": panel.context(request.user, customer)}
        for panel in customer_panels(request.user)
    ]
    context["all_tags"] = (
        Tag.objects.select_related("category").order_by("category__name", "name")
        if context["can_tag"]
        else []
    )
    return render(request, "crm/customers/detail.html", context)


def _reveal_types(identities: list[Any]) -> list[dict[str, Any]]:
    """One reveal button per personal identity type (phones always: the desk's usual ask)."""
    labels = {
        IdentityType.MOBILE: (_("Show full phone numbers"), "phone", "reveal-phone"),
        IdentityType.EMAIL: (_("Show full e-mail addresses"), "mail", "reveal-email"),
        IdentityType.WECHAT_UNIONID: (_("Show full WeChat unionids"), "lock", ""),
        IdentityType.WECHAT_OPENID: (_("Show full WeChat openids"), "lock", ""),
        IdentityType.EXTERNAL: (_("Show full external ids"), "lock", ""),
    }
    present = {IdentityType.MOBILE} | {i.type for i in identities if i.is_pii}
    return [
        {"type": t, "label": label, "icon": icon, "testid": testid or f"reveal-{t}"}
        for t, (label, icon, testid) in labels.items()
        if t in present
    ]


@require_POST
@permission_required("crm.view_customer", raise_exception=True)
def customer_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a customer's full identities of one personal type (audited), as an htmx fragment."""
    customer = get_object_or_404(Customer.objects.live(), pk=pk)
    identity_type = request.POST.get("type", IdentityType.MOBILE)
    if identity_type not in PII_IDENTITY_TYPES:
        raise Http404
    try:
        identities = services.reveal_identities(
            customer=customer,
            user=request.user,
            identity_type=identity_type,
            ip=client_ip(request),
        )
    except DomainError as exc:
        return HttpResponse(exc.message, status=403)
    template = "crm/customers/_revealed.html" if request.htmx else "crm/customers/revealed.html"
    return render(request, template, {"identities": identities, "customer": customer})


@require_POST
@permission_required("crm.add_customertag", raise_exception=True)
def customer_tag(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_visible_or_404(Customer.objects.live(), request.user, pk=pk)
    tag = get_object_or_404(Tag, pk=_int_or_none(request.POST.get("tag")) or 0)
    if request.POST.get("action") == "remove":
        if not request.user.has_perm("crm.delete_customertag"):
            messages.error(request, _("You may not remove tags."))
        elif services.remove_tag(customer=customer, tag=tag, actor=request.user):
            messages.success(request, _("Tag “%(tag)s” removed.") % {"tag": tag.name})
    elif services.add_tag(customer=customer, tag=tag, actor=request.user):
        messages.success(request, _("Tagged “%(tag)s”.") % {"tag": tag.name})
    else:
        messages.info(request, _("The customer already has this tag."))
    return redirect("customer-detail", pk=customer.pk)


@require_POST
@permission_required("crm.add_consent", raise_exception=True)
def customer_consent(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a grant or withdrawal the customer gave at the desk (the history is kept)."""
    customer = get_object_or_404(Customer.objects.live(), pk=pk)
    granted = request.POST.get("granted")
    try:
        if granted not in ("1", "0"):
            raise DomainError(_("Say whether consent was granted or withdrawn."), field="granted")
        services.record_consent(
            customer=customer,
            channel=request.POST.get("channel", ""),
            purpose=request.POST.get("purpose", ""),
            granted=granted == "1",
            source=request.POST.get("source", ""),
            actor=request.user,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Consent recorded."))
    return redirect("customer-detail", pk=customer.pk)


# --- Duplicates ----------------------------------------------------------------------------


@require_GET
@permission_required("crm.view_duplicatecandidate", raise_exception=True)
def duplicate_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", DuplicateStatus.OPEN)
    status = status if status in DuplicateStatus.values else DuplicateStatus.OPEN
    page = paginate(request, selectors.duplicate_queue(status=status))
    return render(
        request,
        "crm/customers/duplicates.html",
        {
            "page": page,
            "status": status,
            "statuses": DuplicateStatus.choices,
            "can_merge": request.user.has_perm("crm.merge_customer"),
        },
    )


@require_POST
@permission_required("crm.add_job", raise_exception=True)
def duplicate_scan(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("crm.view_duplicatecandidate"):
        raise Http404
    job = services.start_job(kind="crm.find_duplicates", user=request.user)
    messages.success(request, _("Looking for duplicates; the queue fills in as it finishes."))
    return redirect("job-detail", pk=job.pk)


@require_http_methods(["GET", "POST"])
@permission_required("crm.view_duplicatecandidate", raise_exception=True)
def duplicate_review(request: HttpRequest, pk: int) -> HttpResponse:
    candidate = get_object_or_404(
        DuplicateCandidate.objects.select_related("customer_a", "customer_b", "reviewed_by"), pk=pk
    )
    can_merge = request.user.has_perm("crm.merge_customer")
    error = ""
    if request.method == "POST":
        if not can_merge:
            return HttpResponse(_("You may not merge customers."), status=403)
        action = request.POST.get("action")
        try:
            if action == "dismiss":
                services.dismiss_candidate(candidate=candidate, actor=request.user)
                messages.success(request, _("Marked as different customers."))
                return redirect("duplicate-list")
            survivor_id = _int_or_none(request.POST.get("survivor"))
            pair = {
                candidate.customer_a_id: candidate.customer_a,
                candidate.customer_b_id: candidate.customer_b,
            }
            if survivor_id not in pair:
                raise DomainError(_("Choose which customer to keep."), field="survivor")
            survivor = pair.pop(survivor_id)
            loser = next(iter(pair.values()))
            merge = services.merge_customers(
                survivor=survivor,
                loser=loser,
                actor=request.user,
                reason=request.POST.get("reason", ""),
            )
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(
                request,
                _("Customer #%(loser)d merged into customer #%(survivor)d.")
                % {"loser": loser.pk, "survivor": survivor.pk},
            )
            return redirect("merge-detail", pk=merge.pk)
    sides = [
        {"customer": c, **selectors.customer_overview(user=request.user, customer=c)}
        for c in (candidate.customer_a, candidate.customer_b)
    ]
    return render(
        request,
        "crm/customers/duplicate_review.html",
        {
            "candidate": candidate,
            "sides": sides,
            "can_merge": can_merge
            and candidate.status == DuplicateStatus.OPEN
            and not any(s["customer"].is_tombstone for s in sides),
            "error": error,
            "reason": request.POST.get("reason", ""),
        },
        status=400 if error else 200,
    )


@require_GET
@permission_required("crm.view_merge", raise_exception=True)
def merge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    merge = get_object_or_404(Merge.objects.select_related("survivor", "loser", "actor"), pk=pk)
    labels = {
        "identities": _("Identities"),
        "transactions": _("Transactions"),
        "consents": _("Consents"),
        "tags": _("Tags"),
        "timeline_events": _("Timeline events"),
        "notes": _("Notes"),
        "duplicate_candidates": _("Other duplicate candidates"),
        **{h.key: str(h.label) for h in merge_handlers()},
    }
    moved = [(labels.get(key, key), count) for key, count in merge.summary.items()]
    return render(request, "crm/customers/merge_detail.html", {"merge": merge, "moved": moved})
