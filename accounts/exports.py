"""The account list's export (``crm.exports``): the list's filters, one row per account with
its USCC, industry, region, status, owner, units, contacts, open opportunities and their sum,
and the blacklist mark. Text is neutralized against formulas by the shared writer; counts and
amounts stay numbers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import DecimalField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account, Industry, Opportunity
from accounts.selectors.lists import (
    ACCOUNT_LIST_KEY,
    AccountFilters,
    matching_accounts,
    with_figures,
)
from crm import selectors, services
from crm.exports import Column, ExportSpec

EXPORT_BATCH = 1000


def account_columns(reveal: bool) -> list[Column]:
    return [
        Column("id", gettext_lazy("Account number"), "int"),
        Column("name", gettext_lazy("Name")),
        Column("uscc", gettext_lazy("Unified social credit code")),
        Column("industry", gettext_lazy("Industry")),
        Column("province", gettext_lazy("Province")),
        Column("city", gettext_lazy("City")),
        Column("status", gettext_lazy("Status")),
        Column("owner", gettext_lazy("Owner")),
        Column("units", gettext_lazy("Business units")),
        Column("contacts", gettext_lazy("Active contacts"), "int"),
        Column("open", gettext_lazy("Open opportunities"), "int"),
        Column("open_amount", gettext_lazy("Open pipeline (CNY)"), "money"),
        Column("blacklisted", gettext_lazy("Blacklisted")),
        Column("created", gettext_lazy("Added"), "date"),
    ]


def count_accounts(user: Any, params: dict[str, str]) -> int:
    accounts, _audit = matching_accounts(user=user, filters=AccountFilters.from_params(params))
    return accounts.count()


def account_rows(user: Any, params: dict[str, str], reveal: bool) -> Iterator[list[dict[str, Any]]]:
    """Batches of accounts by number: three queries per batch (the rows with their figures,
    their units, their blacklist marks), plus the audit of an identity-fragment search."""
    filters = AccountFilters.from_params(params)
    accounts, audit = matching_accounts(user=user, filters=filters)
    industries = dict(Industry.choices)
    pipeline = (
        Opportunity.objects.open()
        .visible_to(user)
        .filter(account=OuterRef("pk"), currency="CNY")
        .order_by()
        .values("account")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=16, decimal_places=2)
    for ids in selectors.id_batches(accounts, EXPORT_BATCH):
        batch = list(
            with_figures(Account.objects.filter(pk__in=ids))
            .annotate(
                open_amount=Coalesce(Subquery(pipeline, output_field=money), 0, output_field=money)
            )
            .prefetch_related("business_units")
            .order_by("id")
        )
        marked = selectors.blacklisted_ids(a.customer_id for a in batch)
        if audit:
            services.record_pii_search(
                user=user, query=filters.query, kind=audit, customers=[a.customer for a in batch]
            )
        yes, no = _("Yes"), _("No")
        yield [
            {
                "id": a.pk,
                "name": a.customer.display_name,
                "uscc": a.uscc or "",  # type: ignore[attr-defined]
                "industry": str(industries.get(a.industry, "")) if a.industry else "",
                "province": a.province,
                "city": a.city,
                "status": a.get_status_display(),
                "owner": (a.owner.get_full_name() or a.owner.username) if a.owner else "",
                "units": " ".join(u.code for u in a.business_units.all()),
                "contacts": a.contact_count,  # type: ignore[attr-defined]
                "open": a.open_count,  # type: ignore[attr-defined]
                "open_amount": a.open_amount,  # type: ignore[attr-defined]
                "blacklisted": yes if a.customer_id in marked else no,
                "created": a.created_at,
            }
            for a in batch
        ]


ACCOUNT_EXPORT = ExportSpec(
    list_key=ACCOUNT_LIST_KEY,
    label=gettext_lazy("Accounts"),
    filename="accounts",
    permission="accounts.view_account",
    columns=account_columns,
    count=count_accounts,
    rows=account_rows,
)
