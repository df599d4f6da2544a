"""Segments for marketing: the list (search, sort, pages), the builder with a live count
and a preview of the first customers (identities masked), the segment page (export,
freeze, make live, delete after a confirmation, the segment as it was on the first day of a
past month)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import selectors, services
from crm.errors import DomainError
from crm.models import Segment
from crm.registry import WorkItem, WorkList
from crm.rules import RuleInvalid, validate_rule
from crm.web.components import paginate
from crm.web.rule_builder import describe_rule
from crm.web.segment_forms import SegmentForm, parse_rule


@require_GET
@permission_required("crm.view_segment", raise_exception=True)
def segment_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    sort = request.GET.get("sort", "name")
    if sort not in selectors.SEGMENT_SORTS:
        sort = "name"
    page = paginate(request, selectors.segment_list(query=query, sort=sort))
    labels: dict[str, Any] = {}  # each field's choices read once for the page
    for segment in page.object_list:
        segment.summary = describe_rule(segment.rule, labels)
    return render(request, "crm/segments/list.html", {"page": page, "q": query, "sort": sort})


def _count_context(rule: Any) -> dict[str, Any]:
    """The live count's context: the count and preview, or the rule's errors."""
    try:
        normalized = validate_rule(rule)
    except RuleInvalid as exc:
        return {"state": "errors", "errors": exc.errors}
    try:
        count = selectors.count_rule(normalized, timeout_ms=selectors.LIVE_COUNT_TIMEOUT_MS)
    except selectors.CountTooSlow:
        return {"state": "slow"}
    rows = selectors.preview_rows(selectors.rule_customers(normalized)) if count else []
    return {"state": "count", "count": count, "rows": rows, "summary": describe_rule(normalized)}


@require_POST
@permission_required("crm.view_segment", raise_exception=True)
def segment_count(request: HttpRequest) -> HttpResponse:
    """The builder's live count and preview (htmx, debounced by the page)."""
    context = _count_context(parse_rule(request.POST.get("rule", "")))
    return render(request, "crm/segments/_count.html", context)


def _save(request: HttpRequest, form: SegmentForm, segment: Segment | None) -> Segment | None:
    data = form.cleaned_data
    rule = parse_rule(data.get("rule", ""))
    try:
        if segment is None:
            return services.create_segment(
                name=data["name"],
                description=data.get("description", ""),
                rule=rule,
                owner=request.user,
            )
        return services.update_segment(
            segment=segment,
            name=data["name"],
            description=data.get("description", ""),
            rule=rule,
        )
    except RuleInvalid as exc:
        form.rule_errors = exc.errors  # type: ignore[attr-defined]
        form.add_error(None, _("The rule cannot be saved yet: see the problems below it."))
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return None


def _editor(request: HttpRequest, segment: Segment | None) -> HttpResponse:
    if request.method == "POST":
        form = SegmentForm(request.POST)
        if form.is_valid() and (saved := _save(request, form, segment)) is not None:
            messages.success(request, _("Segment “%(name)s” saved.") % {"name": saved.name})
            return redirect("segment-detail", pk=saved.pk)
    elif segment is not None:
        form = SegmentForm(
            initial={
                "name": segment.name,
                "description": segment.description,
                "rule": segment.rule,
            }
        )
    else:
        form = SegmentForm()
    rule = parse_rule(form["rule"].value() if isinstance(form["rule"].value(), str) else "")
    if rule is None and segment is not None and request.method != "POST":
        rule = segment.rule
    context = {
        "form": form,
        "segment": segment,
        "rule_errors": getattr(form, "rule_errors", []),
        "initial_count": _count_context(rule) if rule else {},
    }
    return render(request, "crm/segments/edit.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("crm.add_segment", raise_exception=True)
def segment_create(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@require_http_methods(["GET", "POST"])
@permission_required("crm.change_segment", raise_exception=True)
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, get_object_or_404(Segment, pk=pk))


@require_GET
@permission_required("crm.view_segment", raise_exception=True)
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment.objects.select_related("owner"), pk=pk)
    snapshot = selectors.latest_snapshot(segment)
    customers = selectors.segment_customers(segment)
    too_slow = False
    try:
        count = (
            snapshot.member_count
            if segment.is_frozen and snapshot is not None
            else selectors.count_rule(segment.rule, timeout_ms=selectors.LIVE_COUNT_TIMEOUT_MS)
        )
    except selectors.CountTooSlow:
        count, too_slow = None, True
    context = {
        "segment": segment,
        "summary": describe_rule(segment.rule),
        "snapshot": snapshot,
        "count": count,
        "too_slow": too_slow,
        "rows": selectors.preview_rows(customers) if count else [],
        "list_key": selectors.SEGMENT_LIST_KEY,
        "export_query": f"segment={segment.pk}",
        "snapshot_months": selectors.metrics_snapshot_months(),
    }
    return render(request, "crm/segments/detail.html", context)


def _as_of_context(segment: Segment, month: str) -> dict[str, Any]:
    """The segment as it was on the first day after a snapshot month: the count, the entered
    and left since, the first customers; or why it cannot be shown."""
    try:
        past = selectors.metrics_snapshot_month(month)
        rule = validate_rule(segment.rule, past=True)
        count = selectors.count_rule_as_of(
            rule, past, timeout_ms=selectors.LIVE_COUNT_TIMEOUT_MS, validated=True
        )
    except RuleInvalid as exc:
        return {"state": "errors", "errors": exc.errors}
    except selectors.NoSnapshot as exc:
        return {"state": "missing", "message": exc.message}
    except selectors.CountTooSlow:
        return {"state": "slow"}
    members = selectors.rule_customers_as_of(rule, past, validated=True)
    return {
        "state": "count",
        "past": past,
        "count": count,
        "changes": selectors.segment_changes_since(segment, past, rule=rule),
        "rows": selectors.preview_rows(members) if count else [],
    }


@require_GET
@permission_required("crm.view_segment", raise_exception=True)
def segment_as_of(request: HttpRequest, pk: int) -> HttpResponse:
    """The segment as it was on the first day of a past month (htmx, from the month picker)."""
    segment = get_object_or_404(Segment, pk=pk)
    context = {"segment": segment, **_as_of_context(segment, request.GET.get("month", ""))}
    return render(request, "crm/segments/_as_of.html", context)


@require_POST
@permission_required("crm.delete_segment", raise_exception=True)
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    name = segment.name
    services.delete_segment(segment=segment)
    messages.success(request, _("Segment “%(name)s” deleted.") % {"name": name})
    return redirect("segment-list")


@require_POST
@permission_required("crm.change_segment", raise_exception=True)
def segment_freeze(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    try:
        snapshot = services.freeze_segment(segment=segment, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        count = snapshot.member_count
        messages.success(
            request,
            ngettext(
                "Segment frozen on its %(count)d current member.",
                "Segment frozen on its %(count)d current members.",
                count,
            )
            % {"count": count},
        )
    return redirect("segment-detail", pk=segment.pk)


@require_POST
@permission_required("crm.change_segment", raise_exception=True)
def segment_make_live(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    services.make_segment_live(segment=segment)
    messages.success(request, _("The segment is live again: its rule decides who is in it."))
    return redirect("segment-detail", pk=segment.pk)


def my_segments_work(user: Any) -> WorkList:
    """Marketing's home card: their segments, most recently changed first (two queries)."""
    from django.urls import reverse

    mine = Segment.objects.filter(owner=user).order_by("-updated_at", "-id")
    items = [
        WorkItem(
            segment.name,
            reverse("segment-detail", args=[segment.pk]),
            subtitle=segment.get_mode_display(),
            when=segment.updated_at,
        )
        for segment in mine[:5]
    ]
    return WorkList(
        items=items,
        total=mine.count(),
        empty_text=_(
            "You have no segment yet: build one from who bought where, when and how much."
        ),
        see_all_url=reverse("segment-list"),
        see_all_label=_("All segments"),
        icon="filter",
    )
