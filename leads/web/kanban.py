"""The rep's kanban: the leads they hold in a column per held status (assigned, contacted,
qualified), dragged to another column, or moved from a card's "Move…" link with the board's
one "move to" menu (the keyboard way, ``static/js/pipeline.js``, shared with the accounts'
pipeline board). A drop on "lost" asks the reason in the board's dialog; converting has its
own form on the lead page (a qualified card links to it). The rules of a move are the
services' (``set_status``, ``lose_lead``): an illegal move is refused with their message
(422) and nothing changes. Only the rep holding the lead moves it from here: any other lead
is a 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm.errors import DomainError
from leads import services
from leads.errors import LeadError
from leads.models import HELD_STATUSES, Lead, LeadStatus
from leads.web.common import safe_next
from leads.web.forms import LoseForm
from leads.web.kanban_cards import cards_html
from leads.web.mine import end_of_today, my_load
from leads.web.queries import BOARD_LIMIT, my_board

LOST = LeadStatus.LOST
# Where a card may be dropped: the held statuses and lost (converting has its own form).
TARGETS = (*HELD_STATUSES, LOST)


def _columns(user: Any, only: set[str] | None = None) -> list[dict[str, Any]]:
    """The columns (all, or the statuses in ``only``): count, the first cards, how many
    more. One query whatever the number of leads held."""
    counts, cards = my_board(user=user)
    now = timezone.now()
    end_of_day = end_of_today(now)
    mine = reverse("leads:mine")
    columns = []
    for status in HELD_STATUSES:
        if only is not None and status not in only:
            continue
        shown = cards[status]
        columns.append(
            {
                "status": status,
                "label": LeadStatus(status).label,
                "count": counts[status],
                "cards_html": cards_html(shown, now=now, end_of_day=end_of_day),
                "more": max(counts[status] - len(shown), 0),
                "list_url": f"{mine}?status={status}",
            }
        )
    return columns


def _choices() -> list[tuple[str, Any]]:
    return [(status, LeadStatus(status).label) for status in TARGETS]


@require_GET
@permission_required("leads.claim_lead", raise_exception=True)
def board(request: HttpRequest) -> HttpResponse:
    columns = _columns(request.user)
    return render(
        request,
        "leads/kanban/board.html",
        {
            "columns": columns,
            "held": sum(c["count"] for c in columns),
            "load": my_load(request.user),
            "choices": _choices(),
            "limit": BOARD_LIMIT,
        },
    )


def _held_or_404(user: Any, pk: int) -> Lead:
    """The lead if ``user`` holds it, else 404 (another rep's lead, one back in the pool, a
    closed one: never a hint that it exists)."""
    lead = Lead.objects.filter(pk=pk, owner=user, status__in=HELD_STATUSES).first()
    if lead is None:
        raise Http404
    return lead


def _moved(lead: Lead, previous: str) -> str:
    return _("“%(name)s” moved from %(from)s to %(to)s.") % {
        "name": lead.display_name,
        "from": LeadStatus(previous).label,
        "to": lead.get_status_display(),
    }


@require_http_methods(["GET", "POST"])
@permission_required("leads.claim_lead", raise_exception=True)
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a card (drag and drop, or the board's "move to" menu). htmx: the two columns come
    back out of band with a message, or the refusal (422), or for lost the reason form in the
    board's dialog. Without JavaScript: GET is the "move to" form on a page of its own, POST
    goes back to the board with a message."""
    lead = _held_or_404(request.user, pk)
    board_url = reverse("leads:mine-board")
    if request.method == "GET":
        page = {
            "title": _("Move to another status"),
            "pretitle": _("My leads"),
            "name": lead.display_name,
            "action": reverse("leads:move", args=[lead.pk]),
            "label": _("Status"),
            "choices": _choices(),
            "current": lead.status,
            "board_url": board_url,
        }
        return render(request, "components/board_move_page.html", page)
    context: dict[str, Any] = {"lead": lead, "choices": _choices(), "board_url": board_url}
    target = request.POST.get("stage", "")
    previous = lead.status
    reason, note = request.POST.get("reason", ""), request.POST.get("note", "")
    error: DomainError | None = None
    try:
        if target == LOST:
            lead = services.lose_lead(lead=lead.pk, user=request.user, reason=reason, note=note)
        elif target in TARGETS:
            lead = services.set_status(lead=lead.pk, user=request.user, status=target)
        else:
            raise LeadError(_("Choose a column of the board."), field="stage")
    except DomainError as exc:
        error = exc
    context.update(error=error, target=target)
    if target == LOST and error is not None and getattr(error, "field", None) in ("reason", "note"):
        # Ask for the reason: in the board's dialog (htmx), or on a page of its own.
        context["form"] = LoseForm(request.POST if reason else None)
        context["next"] = safe_next(request, "")
        template = "leads/kanban/_reason.html" if request.htmx else "leads/kanban/reason.html"
        return render(request, template, context, status=422)
    if not request.htmx:
        if error is not None:
            messages.error(request, error.message)
        else:
            messages.success(request, _moved(lead, previous))
        return redirect(safe_next(request, board_url))
    if error is not None:
        return render(request, "leads/kanban/_moved.html", context, status=422)
    context.update(
        columns=_columns(request.user, only={previous, lead.status}),
        done=_moved(lead, previous),
        # Lost: the lead is no longer held; the head's count follows.
        load=my_load(request.user) if lead.status == LOST else None,
    )
    return render(request, "leads/kanban/_moved.html", context)
