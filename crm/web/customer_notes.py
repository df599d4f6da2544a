"""Notes on the 360 view: write one, pin or unpin it. With htmx the timeline tab is
re-rendered in place (no page reload); without, the page is reloaded."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import services
from crm.errors import DomainError
from crm.models import Customer, CustomerNote
from crm.web.timeline import tab_context


def _timeline(request: HttpRequest, customer: Customer, **extra: object) -> HttpResponse:
    context = {**tab_context(request, customer, "timeline", filters=False), **extra}
    return render(request, "crm/customers/_tab.html", context)


@require_POST
@permission_required("crm.add_customernote", raise_exception=True)
def note_add(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer.objects.live(), pk=pk)
    text = request.POST.get("text", "")
    try:
        services.add_note(
            customer=customer,
            author=request.user,
            text=text,
            pinned=request.POST.get("pinned") == "1",
        )
    except DomainError as exc:
        if request.htmx:  # the form again, with the reason and what was typed
            return _timeline(request, customer, note_error=exc.message, note_text=text)
        messages.error(request, exc.message)
    else:
        if request.htmx:
            return _timeline(request, customer, note_saved=True)
        messages.success(request, _("Note added."))
    return redirect("customer-detail", pk=customer.pk)


@require_POST
@permission_required("crm.change_customernote", raise_exception=True)
def note_pin(request: HttpRequest, pk: int, note_id: int) -> HttpResponse:
    note = get_object_or_404(
        CustomerNote.objects.select_related("customer"),
        pk=note_id,
        customer_id=pk,
        customer__merged_into__isnull=True,
    )
    services.pin_note(note=note, pinned=request.POST.get("pinned") == "1")
    if request.htmx:
        return _timeline(request, note.customer)
    return redirect("customer-detail", pk=pk)
