"""Admin for the customer master: fast at a million rows (estimated counts, raw-id pickers,
the same search as the web list), history read-only (it is changed through services only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm import services
from crm.admin import confirm_action
from crm.models import (
    Consent,
    Customer,
    CustomerTag,
    DuplicateCandidate,
    DuplicateReason,
    Identity,
    Merge,
    PiiAccess,
    Tag,
    TagCategory,
    TimelineEvent,
    Transaction,
)
from crm.selectors.customers import search_filter


class EstimatedCountPaginator(Paginator):
    """An unfiltered list shows PostgreSQL's row estimate instead of counting a big table."""

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        query = getattr(self.object_list, "query", None)
        if query is not None and not query.where:
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [self.object_list.model._meta.db_table],  # type: ignore[union-attr]
                )
                row = cursor.fetchone()
            if row and row[0] > 10000:
                return int(row[0])
        return super().count


class BigTableAdmin(admin.ModelAdmin[Any]):
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50


class ReadOnlyAdmin(BigTableAdmin):
    """History: viewable, never edited by hand (services write it)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class IdentityInline(admin.TabularInline[Identity, Customer]):
    model = Identity
    extra = 0
    fields = ["type", "shown_value", "verified", "source", "created_at"]
    readonly_fields = fields
    can_delete = False

    @admin.display(description=_("value"))
    def shown_value(self, obj: Identity) -> str:
        request = getattr(self, "_request", None)
        if obj.is_pii and not (request and request.user.has_perm("crm.reveal_customer_pii")):
            return obj.masked_value
        return obj.value

    def get_queryset(self, request: HttpRequest) -> QuerySet[Identity]:
        self._request = request
        return super().get_queryset(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CustomerTagInline(admin.TabularInline[CustomerTag, Customer]):
    model = CustomerTag
    extra = 0
    fields = ["tag", "set_by", "rule", "created_at"]
    readonly_fields = ["set_by", "rule", "created_at"]
    autocomplete_fields = ["tag"]


@admin.register(Customer)
class CustomerAdmin(BigTableAdmin):
    list_display = ["display_name", "kind", "region", "state", "created_at", "view_360"]
    list_filter = ["kind", ("merged_into", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["display_name"]
    search_help_text = _("Name, phone fragment (3+ digits), e-mail or external id.")
    readonly_fields = ["merged_into", "merged_at", "created_at", "updated_at", "source"]
    fieldsets = [
        (None, {"fields": ["kind", "display_name", "registered_name"]}),
        (_("Person"), {"fields": ["gender", "birthday", "region"]}),
        (_("Origin"), {"fields": ["source", "created_at", "updated_at"]}),
        (_("Merge"), {"fields": ["merged_into", "merged_at"]}),
    ]
    inlines = [IdentityInline, CustomerTagInline]
    list_select_related = ["merged_into"]
    actions = ["queue_for_review"]
    ordering = ["-id"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        if not search_term.strip():
            return queryset, False
        condition = search_filter(search_term)
        return (queryset.filter(condition) if condition is not None else queryset.none()), False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # customers are merged, never deleted: their history must stay

    @admin.display(description=_("state"))
    def state(self, obj: Customer) -> str:
        if obj.merged_into_id:
            return str(_("merged into #%(id)s") % {"id": obj.merged_into_id})
        return str(_("live"))

    @admin.display(description=_("360 view"))
    def view_360(self, obj: Customer) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("customer-detail", args=[obj.pk]), _("Open")
        )

    @admin.action(description=_("Queue the two selected customers for duplicate review"))
    def queue_for_review(
        self, request: HttpRequest, queryset: QuerySet[Customer]
    ) -> TemplateResponse | HttpResponseRedirect | None:
        pair = list(queryset[:3])
        if len(pair) != 2:
            self.message_user(request, _("Select exactly two customers."), messages.ERROR)
            return None
        response = confirm_action(
            self,
            request,
            queryset,
            action="queue_for_review",
            title=_("Queue for duplicate review"),
            question=_("Propose these two customers as one? Staff decide in the review queue."),
        )
        if response is not None:
            return response
        candidate = services.record_duplicate_candidate(
            first=pair[0],
            second=pair[1],
            reason=DuplicateReason.MANUAL,
            detail=request.user.get_username(),
            score=80,
        )
        assert candidate is not None
        return HttpResponseRedirect(reverse("duplicate-review", args=[candidate.pk]))


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ["type", "masked", "customer", "verified", "source", "created_at"]
    list_filter = ["type", "verified"]
    search_fields = ["=value"]
    search_help_text = _("The exact normalized value, e.g. +8613800138000.")
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]

    @admin.display(description=_("value"))
    def masked(self, obj: Identity) -> str:
        return obj.masked_value


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "source",
        "business_unit",
        "channel",
        "kind",
        "status",
        "amount",
        "currency",
        "occurred_at",
        "customer",
    ]
    list_filter = ["business_unit", "channel", "kind", "status", "currency"]
    search_fields = ["=external_id"]
    search_help_text = _("The order id exactly as the source system sent it.")
    list_select_related = ["business_unit", "customer"]
    raw_id_fields = ["customer", "original"]
    date_hierarchy = "occurred_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Transaction]:
        return super().get_queryset(request).visible_to(request.user)  # type: ignore[attr-defined]


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "type", "customer", "business_unit", "actor", "summary"]
    list_filter = ["type", "business_unit"]
    list_select_related = ["customer", "business_unit", "actor"]
    raw_id_fields = ["customer"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[TimelineEvent]:
        return super().get_queryset(request).visible_to(request.user)  # type: ignore[attr-defined]


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ["customer", "channel", "purpose", "granted", "occurred_at", "source", "actor"]
    list_filter = ["channel", "purpose", "granted"]
    list_select_related = ["customer", "actor"]
    raw_id_fields = ["customer"]


@admin.register(TagCategory)
class TagCategoryAdmin(admin.ModelAdmin[TagCategory]):
    list_display = ["name", "color"]
    search_fields = ["name"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin[Tag]):
    list_display = ["name", "category", "description"]
    list_filter = ["category"]
    search_fields = ["name", "category__name"]
    list_select_related = ["category"]
    autocomplete_fields = ["category"]


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(BigTableAdmin):
    list_display = ["pair", "reason", "score", "status", "created_at", "reviewed_by", "review"]
    list_filter = ["status", "reason"]
    list_select_related = ["customer_a", "customer_b", "reviewed_by"]
    readonly_fields = [
        "customer_a",
        "customer_b",
        "reason",
        "detail",
        "score",
        "status",
        "created_at",
        "reviewed_by",
        "reviewed_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("pair"))
    def pair(self, obj: DuplicateCandidate) -> str:
        return f"{obj.customer_a} (#{obj.customer_a_id}) ~ {obj.customer_b} (#{obj.customer_b_id})"

    @admin.display(description=_("review"))
    def review(self, obj: DuplicateCandidate) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("duplicate-review", args=[obj.pk]), _("Open")
        )


@admin.register(Merge)
class MergeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "loser", "survivor", "actor", "reason"]
    list_select_related = ["loser", "survivor", "actor"]
    search_fields = ["reason"]
    readonly_fields = ["survivor", "loser", "actor", "reason", "summary", "loser_snapshot"]


@admin.register(PiiAccess)
class PiiAccessAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "customer", "identity_type", "ip"]
    list_filter = ["identity_type", ("user", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user", "customer"]
    raw_id_fields = ["customer"]
