"""The customer list's filters as one value, the customers they match (for bulk actions
and exports), and who already owns an identity (the create form's duplicate warning).

``customer_list`` (``crm.selectors.customers``) pages the same filters for the screen; the
functions here return every matching customer, to be read in batches."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from crm.models import (
    Customer,
    CustomerKind,
    CustomerTag,
    Identity,
    LifecycleStage,
    RfmSegment,
    Transaction,
)
from crm.normalizers import InvalidIdentity, normalize_email, normalize_phone, normalize_uscc
from crm.selectors.customers import _plan_filter, may_reveal, metrics_filter, parse_search

CUSTOMER_LIST_KEY = "crm.customers"
CUSTOMER_FILTER_PARAMS = ("q", "kind", "unit", "tag", "stage", "segment", "sort")


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class CustomerFilters:
    query: str = ""
    kind: str = ""
    unit: int | None = None
    tag: int | None = None
    stage: str = ""
    segment: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CustomerFilters:
        """The filters of a query string (``request.GET``); anything invalid is dropped."""
        kind = str(params.get("kind") or "")
        stage = str(params.get("stage") or "")
        segment = str(params.get("segment") or "")
        return cls(
            query=str(params.get("q") or "").strip()[:100],
            kind=kind if kind in CustomerKind.values else "",
            unit=_int_or_none(params.get("unit")),
            tag=_int_or_none(params.get("tag")),
            stage=stage if stage in LifecycleStage.values else "",
            segment=segment if segment in RfmSegment.values else "",
        )

    @property
    def active(self) -> bool:
        return bool(self.query or self.kind or self.unit or self.tag or self.stage or self.segment)

    def as_params(self) -> dict[str, str]:
        values = {
            "q": self.query,
            "kind": self.kind,
            "unit": self.unit,
            "tag": self.tag,
            "stage": self.stage,
            "segment": self.segment,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def matching_customers(*, user: Any, filters: CustomerFilters) -> tuple[QuerySet[Customer], str]:
    """Every live customer the filters match, and the audit kind of a search inside personal
    identities (``""`` when none; the caller records it like the list does)."""
    customers = Customer.objects.visible_to(user).live()
    audit = ""
    if filters.query:
        plan = parse_search(filters.query, may_reveal=may_reveal(user))
        condition = _plan_filter(plan)
        customers = customers.none() if condition is None else customers.filter(condition)
        audit = plan.audit
    if filters.kind:
        customers = customers.filter(kind=filters.kind)
    if filters.unit:
        customers = customers.filter(
            Exists(
                Transaction.objects.visible_to(user).filter(
                    customer=OuterRef("pk"), business_unit=filters.unit
                )
            )
        )
    if filters.tag:
        customers = customers.filter(
            Exists(CustomerTag.objects.filter(customer=OuterRef("pk"), tag=filters.tag))
        )
    return metrics_filter(customers, stage=filters.stage, segment=filters.segment), audit


def id_batches(customers: QuerySet[Customer], size: int = 1000) -> Iterator[list[int]]:
    """The ids of ``customers`` in ascending batches (keyset: each batch is one indexed
    query, memory bounded by ``size``)."""
    last = 0
    while True:
        ids = list(customers.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return
        yield ids
        last = ids[-1]


_NORMALIZERS: dict[str, Any] = {
    "mobile": normalize_phone,
    "email": normalize_email,
    "uscc": normalize_uscc,
}


@dataclass(frozen=True)
class IdentityOwner:
    field: str
    customer: Customer


def identity_owners(identities: Mapping[str, tuple[str, str]]) -> list[IdentityOwner]:
    """Who already owns each identity: ``{form field: (identity type, raw value)}``, values
    normalized the platform's way (an invalid value owns nothing). One query."""
    wanted: dict[tuple[str, str], str] = {}
    for field, (type_, raw) in identities.items():
        if not raw.strip():
            continue
        try:
            wanted[(type_, _NORMALIZERS[type_](raw, field=field))] = field
        except InvalidIdentity:
            continue
    if not wanted:
        return []
    condition = Q()
    for type_, value in wanted:
        condition |= Q(type=type_, value=value)
    found = Identity.objects.filter(condition).select_related("customer__merged_into")
    owners = []
    for identity in found:
        customer = identity.customer
        if customer.merged_into_id is not None and customer.merged_into is not None:
            customer = customer.merged_into
        owners.append(IdentityOwner(wanted[(identity.type, identity.value)], customer))
    return sorted(owners, key=lambda o: list(identities).index(o.field))
