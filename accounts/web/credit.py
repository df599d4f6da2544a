"""An account's credit: its page (/accounts/<pk>/credit/), the section it renders (included
by the account page too), adding evidence and completing a review through htmx (or a plain
POST and redirect without JavaScript), and the owners' "Credit reviews due" home card."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors, services
from accounts.models import Account, EvidenceEffect, EvidenceKind
from accounts.models.credit import NOTE_MAX
from crm.errors import DomainError
from crm.policy import get_visible_or_404
from crm.registry import WorkItem, WorkList

SECTION = "accounts/credit/section.html"


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=EvidenceKind.choices)
    effect = forms.ChoiceField(label=gettext_lazy("Effect"), choices=EvidenceEffect.choices)
    source = forms.CharField(label=gettext_lazy("Source"), max_length=100)
    observed_on = forms.DateField(label=gettext_lazy("Observed on"))
    value = forms.CharField(label=gettext_lazy("Value"), max_length=200, required=False)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=NOTE_MAX, required=False)


def _account(request: HttpRequest, pk: int) -> Account:
    return get_visible_or_404(Account.objects.select_related("customer"), request.user, pk=pk)


def _page_number(request: HttpRequest) -> int:
    try:
        return int(request.GET.get("credit_page", 1))
    except ValueError:
        return 1


def _section(request: HttpRequest, account: Account, **form: Any) -> HttpResponse:
    context = selectors.credit_section_context(
        request.user, account, page=_page_number(request), form=form
    )
    return render(request, SECTION, context)


@require_GET
@permission_required("accounts.view_creditprofile", raise_exception=True)
def credit_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The credit section on its own page; with htmx (paging the evidence) the section only."""
    account = _account(request, pk)
    if request.htmx:
        return _section(request, account)
    context = selectors.credit_section_context(request.user, account, page=_page_number(request))
    return render(request, "accounts/credit/page.html", {**context, "account": account})


@require_POST
@permission_required("accounts.add_creditevidence", raise_exception=True)
def evidence_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    form = EvidenceForm(request.POST)
    errors: dict[str, list[str]] = {}
    if form.is_valid():
        try:
            services.add_credit_evidence(account=account, user=request.user, **form.cleaned_data)
        except DomainError as exc:
            errors = {exc.field or "general": [exc.message]}
    else:
        errors = {
            "general" if field == "__all__" else field: [str(e) for e in errs]
            for field, errs in form.errors.items()
        }
    if request.htmx:
        if errors:
            return _section(request, account, values=request.POST, errors=errors)
        return _section(request, account, saved=True)
    if errors:
        for messages_ in errors.values():
            for message in messages_:
                messages.error(request, message)
    else:
        messages.success(request, _("Evidence recorded; the credit profile was recomputed."))
    return redirect("accounts:credit", pk=account.pk)


@require_POST
@permission_required("accounts.review_creditprofile", raise_exception=True)
def review(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    try:
        services.complete_credit_review(account=account, user=request.user)
    except DomainError as exc:
        if request.htmx:
            return _section(request, account, errors={"general": [exc.message]})
        messages.error(request, exc.message)
    else:
        if request.htmx:
            return _section(request, account, reviewed=True)
        messages.success(request, _("Review completed; the next review date moved."))
    return redirect("accounts:credit", pk=account.pk)


def credit_reviews_work(user: Any) -> WorkList:
    """The owners' home card: their accounts whose credit review fell due (two queries)."""
    due = selectors.credit_reviews_due(user)
    today = timezone.localdate()
    items = [
        WorkItem(
            profile.account.customer.display_name,
            reverse("accounts:credit", args=[profile.account_id]),
            subtitle=_("Review due since %(date)s") % {"date": profile.next_review_on.isoformat()},
            badge=profile.rating,
            badge_color="red" if (today - profile.next_review_on).days > 30 else "orange",
        )
        for profile in due[:5]
    ]
    return WorkList(
        items=items,
        total=due.count() if len(items) == 5 else len(items),
        empty_text=_("No credit review is due on your accounts."),
        icon="clock",
    )
