"""The customer list's export (``crm.exports``): the filters of the list screen, one row per
customer with its identities (masked unless revealed), region, purchases and spend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, DecimalField, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from crm import selectors, services
from crm.exports import Column, ExportSpec
from crm.models import Customer, CustomerKind, Identity, IdentityType, PiiAccess, Transaction
from crm.normalizers import display_phone, mask_identity

EXPORT_BATCH = 1000


def customer_columns(reveal: bool) -> list[Column]:
    return [
        Column("id", _("Customer number"), "int"),
        Column("name", _("Name")),
        Column("kind", _("Kind")),
        Column("mobile", _("Phone")),
        Column("email", _("E-mail")),
        Column("uscc", _("Unified social credit code")),
        Column("region", _("Region")),
        Column("created", _("Added"), "date"),
        Column("last_purchase", _("Last purchase"), "date"),
        Column("orders", _("Purchases"), "int"),
        Column("spend", _("Net spend (CNY)"), "money"),
    ]


def _filters(params: dict[str, str]) -> selectors.CustomerFilters:
    return selectors.CustomerFilters.from_params(params)


def count_customers(user: Any, params: dict[str, str]) -> int:
    customers, _audit = selectors.matching_customers(user=user, filters=_filters(params))
    return customers.count()


def _first_identity(type_: str) -> Subquery:
    return Subquery(
        Identity.objects.filter(customer=OuterRef("pk"), type=type_)
        .order_by("id")
        .values("value")[:1]
    )


def customer_rows(
    user: Any, params: dict[str, str], reveal: bool
) -> Iterator[list[dict[str, Any]]]:
    """Batches of ``EXPORT_BATCH`` customers by number: one query per batch (identities and
    purchase figures as subqueries over the units the user may see), plus the audit."""
    filters = _filters(params)
    customers, audit = selectors.matching_customers(user=user, filters=filters)
    yield from customer_rows_for(user, customers, reveal, audit=audit, query=filters.query)


def customer_rows_for(
    user: Any, customers: Any, reveal: bool, *, audit: str = "", query: str = ""
) -> Iterator[list[dict[str, Any]]]:
    """The export's batches for any set of customers (the list's filters, a segment)."""
    visible = Transaction.objects.visible_to(user).filter(customer=OuterRef("pk"))
    purchases = visible.filter(kind="purchase", amount__gt=0)
    kinds = dict(CustomerKind.choices)
    for ids in selectors.id_batches(customers, EXPORT_BATCH):
        batch = list(
            Customer.objects.filter(pk__in=ids)
            .only("id", "kind", "display_name", "region", "created_at")
            .annotate(
                mobile=_first_identity(IdentityType.MOBILE),
                email=_first_identity(IdentityType.EMAIL),
                uscc=_first_identity(IdentityType.USCC),
                last_purchase=Subquery(
                    purchases.order_by("-occurred_at").values("occurred_at")[:1]
                ),
                orders=Coalesce(
                    Subquery(
                        purchases.order_by().values("customer").annotate(n=Count("id")).values("n"),
                        output_field=IntegerField(),
                    ),
                    0,
                ),
                spend=Coalesce(
                    Subquery(
                        visible.filter(currency="CNY")
                        .order_by()
                        .values("customer")
                        .annotate(total=Sum("amount"))
                        .values("total"),
                        output_field=DecimalField(max_digits=16, decimal_places=2),
                    ),
                    0,
                    output_field=DecimalField(max_digits=16, decimal_places=2),
                ),
            )
            .order_by("id")
        )
        if reveal:  # audited like a reveal on screen: one row per customer whose data left
            PiiAccess.objects.bulk_create(
                PiiAccess(user=user, customer_id=c.pk, identity_type="export") for c in batch
            )
        elif audit:  # a search inside personal identities chose these rows
            services.record_pii_search(user=user, query=query, kind=audit, customers=batch)
        yield [
            {
                "id": c.pk,
                "name": c.display_name,
                "kind": str(kinds.get(c.kind, c.kind)),
                "mobile": _identity(IdentityType.MOBILE, c.mobile, reveal),  # type: ignore[attr-defined]
                "email": _identity(IdentityType.EMAIL, c.email, reveal),  # type: ignore[attr-defined]
                "uscc": c.uscc or "",  # type: ignore[attr-defined]
                "region": c.region,
                "created": c.created_at,
                "last_purchase": c.last_purchase,  # type: ignore[attr-defined]
                "orders": c.orders,  # type: ignore[attr-defined]
                "spend": c.spend,  # type: ignore[attr-defined]
            }
            for c in batch
        ]


def _identity(type_: str, value: str | None, reveal: bool) -> str:
    if not value:
        return ""
    if not reveal:
        return mask_identity(type_, value)
    # national format: "+86…" would read as a formula and be quoted
    return display_phone(value) if type_ == IdentityType.MOBILE else value


CUSTOMER_EXPORT = ExportSpec(
    list_key=selectors.CUSTOMER_LIST_KEY,
    label=_("Customers"),
    filename="customers",
    permission="crm.view_customer",
    columns=customer_columns,
    count=count_customers,
    rows=customer_rows,
)
