"""List filters and searches the admin's lists share: fixed or registered choices, named in
the reader's language (the default filters read ``DISTINCT`` values off whole tables and show
codes), and exact searches by customer number that the foreign keys' indexes answer."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.job_kinds import job_kinds
from crm.models import BusinessUnit
from crm.registry import event_types
from crm.roles import role_label


def customer_number_search(queryset: QuerySet[Any], term: str, field: str) -> QuerySet[Any]:
    """Rows of the customer numbered ``term`` (``123`` or ``#123``), found through the
    foreign key's index; nothing for anything else."""
    term = term.strip().lstrip("#")
    if not term:
        return queryset
    if not term.isdigit() or len(term) > 18:
        return queryset.none()
    return queryset.filter(**{field: int(term)})


class CurrencyListFilter(admin.SimpleListFilter):
    """A fixed list: the default filter would read ``DISTINCT currency`` off the whole table."""

    title = _("currency")
    parameter_name = "currency"
    CURRENCIES = ("CNY", "GBP", "USD", "EUR", "HKD")

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, code) for code in self.CURRENCIES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(currency=value) if value in self.CURRENCIES else queryset


class EventTypeListFilter(admin.SimpleListFilter):
    """The registered event types: the default filter would read ``DISTINCT type`` off the
    whole timeline."""

    title = _("type")
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        known = event_types()
        return sorted(((code, t.label) for code, t in known.items()), key=lambda c: str(c[1]))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(type=value) if value else queryset


class RoleListFilter(admin.SimpleListFilter):
    """Users by role, the roles named (the default filter shows the groups' codes)."""

    title = _("role")
    parameter_name = "role"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = Group.objects.order_by("name").values_list("name", flat=True)
        return sorted(((name, role_label(name)) for name in names), key=lambda c: c[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(groups__name=value) if value else queryset


class JobKindListFilter(admin.SimpleListFilter):
    """The registered job kinds, named (the default filter reads ``DISTINCT kind`` and shows
    the codes)."""

    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return sorted(((k, e.label) for k, e in job_kinds().items()), key=lambda c: str(c[1]))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(kind=value) if value else queryset


class VisibleUnitListFilter(admin.SimpleListFilter):
    """The units the reader may see (the default filter lists every unit; the "related only"
    one reads ``DISTINCT business_unit_id`` off a whole history table)."""

    title = _("business unit")
    parameter_name = "business_unit"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        units = BusinessUnit.objects.visible_to(request.user).order_by("code")
        return [(str(unit.pk), str(unit)) for unit in units]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(business_unit_id=value) if value.isdigit() else queryset.none()
