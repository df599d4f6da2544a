"""The pipeline board (kanban by stage: drag a card, or open the board's one "move to" menu
from a card's "Move…" link, from the keyboard) and the weighted forecast. Views parse,
authorize and render; the rules of a move are ``accounts.services.move_opportunity``'s."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts import selectors, services
from accounts.errors import LostReasonRequired
from accounts.models import Opportunity, OpportunityStage
from accounts.web.pipeline_cards import card_html, cards_html
from accounts.web.pipeline_filters import BoardFilters, read_filters
from crm.errors import DomainError
from crm.policy import get_visible_or_404


def _columns(
    request: HttpRequest,
    filters: BoardFilters,
    stages: list[OpportunityStage],
    only: set[int] | None = None,
) -> list[dict[str, Any]]:
    """The board's columns (all, or the stages in ``only``): head figures and top cards
    (their HTML built in ``pipeline_cards``). Two queries whatever the number of stages or
    opportunities."""
    user = request.user
    sums = selectors.stage_sums(user=user, filters=filters.filter, stages=stages)
    wanted = [s["stage"] for s in sums if only is None or s["stage"].pk in only]
    cards = selectors.board_cards(
        user=user, filters=filters.filter, stage_ids=[s.pk for s in wanted]
    )
    limit = selectors.BOARD_LIMIT
    columns = []
    for row in sums:
        stage = row["stage"]
        if stage.pk not in cards:
            continue
        column_cards = cards[stage.pk]
        more = column_cards[limit - 1] if len(column_cards) > limit else None
        shown = column_cards[:limit]
        card_html(shown, can_move=_can_move(request), query=filters.query)
        columns.append({**row, "cards": shown, "cards_html": cards_html(shown), "more": more})
    return columns


def _can_move(request: HttpRequest) -> bool:
    return request.user.has_perm("accounts.change_opportunity")


def _context(request: HttpRequest, filters: BoardFilters, stages: list[Any]) -> dict[str, Any]:
    return {
        "filters": filters,
        "stages": stages,
        "stage_choices": [(s.pk, s.name) for s in stages],
        "can_move": _can_move(request),
        "can_add": request.user.has_perm("accounts.add_opportunity"),
    }


@require_GET
@permission_required("accounts.view_opportunity", raise_exception=True)
def board(request: HttpRequest) -> HttpResponse:
    filters = read_filters(request.GET, request.user)
    stages = list(OpportunityStage.objects.filter(is_active=True))
    context = _context(request, filters, stages)
    context["columns"] = _columns(request, filters, stages)
    return render(request, "accounts/pipeline/board.html", context)


def _after(value: str) -> tuple[Decimal, int] | None:
    amount, _sep, pk = (value or "").partition("_")
    try:
        return Decimal(amount), int(pk)
    except (InvalidOperation, ValueError):
        return None


@require_GET
@permission_required("accounts.view_opportunity", raise_exception=True)
def stage_more(request: HttpRequest, stage: int) -> HttpResponse:
    """The next cards of one column (htmx: appended in place of the "more" link; without
    JavaScript: a page of its own)."""
    filters = read_filters(request.GET, request.user, choices=False)
    stages = list(OpportunityStage.objects.filter(is_active=True))
    current = next((s for s in stages if s.pk == stage), None)
    if current is None:
        return render(request, "404.html", status=404)
    limit = selectors.BOARD_LIMIT
    cards = selectors.stage_cards(
        user=request.user,
        filters=filters.filter,
        stage=current,
        after=_after(request.GET.get("after", "")),
    )
    context = _context(request, filters, stages)
    shown = cards[:limit]
    card_html(shown, can_move=context["can_move"], query=filters.query)
    context.update(
        stage=current,
        cards=shown,
        cards_html=cards_html(shown),
        more=cards[limit - 1] if len(cards) > limit else None,
    )
    template = "accounts/pipeline/_more.html" if request.htmx else "accounts/pipeline/stage.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@permission_required("accounts.change_opportunity", raise_exception=True)
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a card (drag and drop, or the board's shared "move to" menu). htmx: both
    columns come back out of band; otherwise back to the board with a message. GET: the
    "move to" form on a page of its own (a card's "Move…" link without JavaScript)."""
    opportunity = get_visible_or_404(
        Opportunity.objects.select_related("stage"), request.user, pk=pk
    )
    filters = read_filters(request.GET, request.user, choices=False)
    stages = list(OpportunityStage.objects.filter(is_active=True))
    if request.method == "GET":
        page = {
            "title": _("Move to another stage"),
            "pretitle": _("Pipeline board"),
            "name": opportunity.name,
            "action": reverse("accounts:opportunity-move", args=[opportunity.pk])
            + f"?{filters.query}",
            "label": _("Stage"),
            "choices": [(s.pk, s.name) for s in stages],
            "current": opportunity.stage_id,
            "board_url": _board_url(filters),
        }
        return render(request, "components/board_move_page.html", page)
    target = next((s for s in stages if str(s.pk) == request.POST.get("stage", "")), None)
    error: DomainError | None = None
    reason = request.POST.get("lost_reason", "")
    previous = opportunity.stage
    if target is None:
        error = DomainError(_("Choose a stage in use."), field="stage")
    else:
        try:
            opportunity = services.move_opportunity(
                opportunity=opportunity, stage=target, user=request.user, lost_reason=reason
            )
        except DomainError as exc:
            error = exc
    board_url = _board_url(filters)
    context = _context(request, filters, stages)
    context.update(opportunity=opportunity, target=target, error=error, reason=reason)
    if isinstance(error, LostReasonRequired):
        # Ask for the reason: in the board's dialog (htmx), or on a page of its own.
        template = (
            "accounts/pipeline/_reason.html" if request.htmx else "accounts/pipeline/reason.html"
        )
        return render(request, template, context, status=422)
    if not request.htmx:
        if error:
            messages.error(request, error.message)
        else:
            messages.success(request, _moved(opportunity, previous, target))
        back = request.POST.get("next", "")
        safe = url_has_allowed_host_and_scheme(back, {request.get_host()})
        return redirect(back if back and safe else board_url)
    if error:
        return render(request, "accounts/pipeline/_moved.html", context, status=422)
    context["columns"] = _columns(
        request, filters, stages, only={previous.pk, opportunity.stage_id}
    )
    context["done"] = _moved(opportunity, previous, target)
    return render(request, "accounts/pipeline/_moved.html", context)


def _board_url(filters: BoardFilters) -> str:
    return f"{reverse('accounts:pipeline')}?{filters.query}"


def _moved(opportunity: Opportunity, previous: OpportunityStage, target: Any) -> str:
    return _("“%(name)s” moved from %(from)s to %(to)s.") % {
        "name": opportunity.name,
        "from": previous.name,
        "to": target.name,
    }


@require_GET
@permission_required("accounts.view_opportunity", raise_exception=True)
def forecast(request: HttpRequest) -> HttpResponse:
    filters = read_filters(request.GET, request.user)
    group = request.GET.get("group", "month")
    group = group if group in selectors.GROUPINGS else "month"
    table = selectors.forecast_table(user=request.user, group_by=group, filters=filters.filter)
    no_date = _("No expected close") if group == "month" else _("Unknown")
    chart = [
        {
            "label": row["label"] or no_date,
            "amount": str(row["amount"]),
            "weighted": str(row["weighted"]),
        }
        for row in table["rows"]
    ]
    return render(
        request,
        "accounts/pipeline/forecast.html",
        {"filters": filters, "group": group, "table": table, "chart": chart, "no_date": no_date},
    )
