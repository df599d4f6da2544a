"""The pool screens: the public pool (公海) and the team pools a rep works, filtered in the URL
(savable as a named view, exportable), keyset pages, "claim" per row and "claim next", bulk
claim and a manager's bulk assignment after a confirmation page naming the leads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from crm import services as crm_services
from crm.errors import DomainError
from crm.templatetags.crm_tags import icon
from leads import services
from leads.models import Lead, LeadPool, LeadSource, LeadStatus
from leads.web.common import STATUS_COLORS, assignable_reps, lead_url, masked, person
from leads.web.queries import (
    POOL_LIST_KEY,
    LeadFilters,
    pool_page,
    pools_for,
)

MAX_SELECTED = 100


def _pool_of(request: HttpRequest, pools: list[LeadPool], raw: Any) -> LeadPool | None:
    """The pool asked for among those the user works; none asked: the first (a public one)."""
    if raw in (None, ""):
        return pools[0] if pools else None
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        raise Http404 from None
    for pool in pools:
        if pool.pk == pk:
            return pool
    raise Http404


def _list_url(query: str) -> str:
    kept = crm_services.sanitize_query(crm_services.known_list(POOL_LIST_KEY), query)
    return reverse("leads:pool") + (f"?{kept}" if kept else "")


def load_of(user: Any, pool: LeadPool) -> dict[str, int] | None:
    """Held / limit and claims today / quota, for someone who claims from this pool."""
    if not user.has_perm("leads.claim_lead") or not services.may_work_pool(user, pool):
        return None
    return services.rep_load(user, pool.business_unit_id, pool)


@require_GET
@permission_required("leads.view_lead", raise_exception=True)
def pool_list(request: HttpRequest) -> HttpResponse:
    pools = pools_for(request.user)  # each unit's public pool first
    pool = _pool_of(request, pools, request.GET.get("pool"))
    if pool is None:
        return render(request, "leads/pool.html", {"pools": [], "pool": None})
    filters = LeadFilters.from_params(request.GET)
    page = pool_page(
        user=request.user,
        pool=pool,
        filters=filters,
        sort=request.GET.get("sort", "-created"),
        after=request.GET.get("after", ""),
    )
    load = load_of(request.user, pool)
    can_manage = services.may_manage(request.user, pool.business_unit_id)
    filter_query = crm_services.sanitize_query(crm_services.known_list(POOL_LIST_KEY), request.GET)
    rows = [_row(lead) for lead in page.rows]
    made = RowHtml(
        can_claim=load is not None,
        can_manage=can_manage,
        hidden=format_html(
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<input type="hidden" name="query" value="{}" data-current-query>',
            get_token(request),
            filter_query,
        ),
    )
    for row in rows:
        row["html"] = made(row)
    context = {
        "pools": pools,
        "pool": pool,
        "page": page,
        "rows": rows,
        "filters": filters,
        "params": filters.as_params(),
        "sort": page.sort,
        "filtered": filters.active,
        "first_page": not request.GET.get("after"),
        "filter_query": filter_query,
        "list_key": POOL_LIST_KEY,
        "load": load,
        "can_claim": load is not None,
        "can_manage": can_manage,
        "reps": list(assignable_reps(pool.business_unit_id)) if can_manage else [],
        "sources": LeadSource.choices,
        "statuses": [
            ("", _("Waiting to be claimed")),
            ("held", _("Held by a rep")),
            ("quarantined", _("Quarantined")),
            *LeadStatus.choices,
        ],
        "ages": [
            ("1", _("Less than a day")),
            ("3", _("Up to 3 days")),
            ("7", _("Up to 7 days")),
            ("30", _("Up to 30 days")),
            ("older", _("Older than 30 days")),
        ],
    }
    template = "leads/_pool_rows.html" if request.htmx else "leads/pool.html"
    return render(request, template, context)


def _row(lead: Lead) -> dict[str, Any]:
    return {
        "lead": lead,
        "url": lead_url(lead),
        "phone": masked(lead.phone),
        "status_color": STATUS_COLORS.get(lead.status, "secondary"),
        "owner": person(lead.owner),
        "customer_owner": person(lead.customer_owner),
        "claimable": lead.owner_id is None
        and lead.status == LeadStatus.NEW
        and not lead.quarantined,
    }


@dataclass(frozen=True)
class RowHtml:
    """A pool row's ``<tr>`` made here rather than in the template (its tags per row were
    most of the page's rendering at 25 rows: the bench's ``leads_pool_list``)."""

    can_claim: bool
    can_manage: bool
    hidden: str  # the claim form's CSRF token and the list's query

    def __call__(self, row: dict[str, Any]) -> SafeString:
        lead: Lead = row["lead"]
        select = (
            format_html(
                '<td><input class="form-check-input m-0 align-middle" type="checkbox" '
                'name="ids" value="{}" form="lead-bulk-form" aria-label="{}" '
                'data-testid="bulk-select"></td>',
                lead.pk,
                _("Select %(name)s") % {"name": lead.display_name},
            )
            if self.can_claim or self.can_manage
            else ""
        )
        marks = []
        if lead.quarantined:
            marks.append(
                format_html(
                    '<span class="badge bg-red text-red-fg ms-1" title="{}" '
                    'data-testid="quarantine-mark">{}{}</span>',
                    lead.quarantine_reason,
                    icon("ban"),
                    _("Quarantined"),
                )
            )
        if lead.existing_customer:
            owner = row["customer_owner"]
            marks.append(
                format_html(
                    '<span class="badge bg-purple-lt ms-1" data-testid="existing-customer-mark" '
                    'title="{}">{}</span>',
                    _("Owner: %(owner)s") % {"owner": owner} if owner else "",
                    _("Existing customer"),
                )
            )
        if row["owner"]:
            marks.append(
                format_html(
                    '<div class="small text-secondary">{}</div>',
                    _("Held by %(owner)s") % {"owner": row["owner"]},
                )
            )
        channel = format_html('<div class="small">{}</div>', lead.channel) if lead.channel else ""
        claim = (
            format_html(
                '<form method="post" action="{}" class="m-0">{}<button type="submit" '
                'class="btn btn-sm btn-outline-primary text-nowrap" data-testid="claim">{}'
                "</button></form>",
                reverse("leads:claim", args=[lead.pk]),
                self.hidden,
                _("Claim"),
            )
            if self.can_claim and row["claimable"]
            else ""
        )
        return format_html(
            '<tr data-testid="lead-row">{}<td><a href="{}" class="fw-medium" '
            'data-testid="lead-link">{}</a>{}</td>'
            '<td class="font-monospace small text-nowrap">{}</td>'
            '<td class="text-secondary text-nowrap">{}{}</td>'
            '<td class="text-secondary">{}</td><td class="text-secondary">{}</td>'
            '<td><span class="badge bg-{}-lt text-nowrap">{}</span></td>'
            '<td class="text-end">{}</td>'
            '<td class="text-secondary text-nowrap" title="{}">{}</td>'
            '<td class="text-end">{}</td></tr>',
            select,
            row["url"],
            lead.display_name,
            format_html_join("", "{}", ((mark,) for mark in marks)),
            row["phone"] or "—",
            lead.get_source_display(),
            channel,
            lead.region or "—",
            lead.industry or "—",
            row["status_color"],
            lead.get_status_display(),
            lead.score,
            formats.date_format(timezone.localtime(lead.created_at), "Y-m-d H:i"),
            _("%(age)s ago") % {"age": timesince(lead.pooled_at)},
            claim,
        )


@require_POST
@permission_required("leads.claim_lead", raise_exception=True)
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    """Claim one lead of the list (refusals say which rule) and go back to the list."""
    back = _list_url(request.POST.get("query", ""))
    lead = Lead.objects.visible_to(request.user).filter(pk=pk).only("pk").first()
    if lead is None:
        raise Http404
    try:
        claimed = services.claim_lead(lead=lead.pk, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(
        request,
        _("You now hold “%(lead)s”: follow it up before it goes back to the pool.")
        % {"lead": claimed.display_name},
    )
    return redirect(back)


@require_POST
@permission_required("leads.claim_lead", raise_exception=True)
def claim_next(request: HttpRequest) -> HttpResponse:
    """Take the pool's oldest waiting lead (one nobody else is taking) and open it."""
    pools = pools_for(request.user)
    pool = _pool_of(request, pools, request.POST.get("pool"))
    if pool is None:
        raise Http404
    try:
        lead = services.claim_next(pool=pool, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_list_url(request.POST.get("query", "")))
    messages.success(request, _("You now hold “%(lead)s”.") % {"lead": lead.display_name})
    return redirect(lead_url(lead))


def _selected(request: HttpRequest) -> list[int] | list[Lead]:
    ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit()][: MAX_SELECTED + 1]
    if len(ids) > MAX_SELECTED:
        return ids
    return list(
        Lead.objects.visible_to(request.user)
        .filter(pk__in=ids)
        .select_related("owner", "pool")
        .order_by("-created_at", "-id")
    )


@require_POST
@permission_required("leads.view_lead", raise_exception=True)
def bulk(request: HttpRequest) -> HttpResponse:
    """First post: the confirmation page (which leads, what happens); the second, with
    ``confirm=1``, claims them (a rep: each on its own, refusals listed) or assigns them
    (a manager: all or none) and goes back to the filtered list."""
    action = request.POST.get("action", "")
    query = request.POST.get("query", "")
    back = _list_url(query)
    if action == "claim" and not request.user.has_perm("leads.claim_lead"):
        raise PermissionDenied
    if action == "assign" and not request.user.has_perm("leads.manage_lead"):
        raise PermissionDenied
    if action not in ("claim", "assign"):
        messages.error(request, _("Choose an action."))
        return redirect(back)
    leads = _selected(request)
    if len(leads) > MAX_SELECTED:
        messages.error(request, _("Select at most %(max)d leads at once.") % {"max": MAX_SELECTED})
        return redirect(back)
    if not leads:
        messages.error(request, _("Select at least one lead."))
        return redirect(back)
    chosen: list[Lead] = leads  # type: ignore[assignment]
    rep = None
    if action == "assign":
        units = {lead.business_unit_id for lead in chosen}
        if len(units) != 1 or not services.may_manage(request.user, next(iter(units))):
            raise PermissionDenied
        raw = request.POST.get("rep", "")
        rep = (
            assignable_reps(next(iter(units))).filter(pk=int(raw)).first()
            if raw.isdigit()
            else None
        )
        if rep is None:
            messages.error(request, _("Choose the rep to assign the leads to."))
            return redirect(back)
    if request.POST.get("confirm") != "1":
        return render(
            request,
            "leads/bulk_confirm.html",
            {
                "leads": [_row(lead) for lead in chosen],
                "action": action,
                "rep": rep,
                "rep_name": person(rep),
                "query": query,
                "back": back,
            },
        )
    if action == "assign":
        try:
            services.assign_leads(
                leads=[lead.pk for lead in chosen], to_user=rep, actor=request.user
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)d lead assigned to %(rep)s.",
                    "%(count)d leads assigned to %(rep)s.",
                    len(chosen),
                )
                % {"count": len(chosen), "rep": person(rep)},
            )
        return redirect(back)
    claimed, refused = 0, []
    for lead in chosen:
        try:
            services.claim_lead(lead=lead.pk, user=request.user)
        except DomainError as exc:
            refused.append(f"{lead.display_name}: {exc.message}")
        else:
            claimed += 1
    if claimed:
        messages.success(
            request,
            ngettext("You claimed %(count)d lead.", "You claimed %(count)d leads.", claimed)
            % {"count": claimed},
        )
    for line in refused[:10]:
        messages.error(request, line)
    if len(refused) > 10:
        messages.error(
            request, _("…and %(count)d more not claimed.") % {"count": len(refused) - 10}
        )
    return redirect(back)
