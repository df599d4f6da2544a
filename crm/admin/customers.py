"""Admin for the customer master: fast at a million rows (estimated counts, raw-id pickers,
the same search as the web list, exact searches and filters that never scan a table), history
read-only (it is changed through services only). Every personal identity (phones, e-mails,
WeChat ids, external ids: the rule is in ``crm.normalizers``) is always masked here, for
everybody: the 360 view reveals them, and records who did. Searches here are by whole values
(or a phone's last four digits), never by fragments of personal identities."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm import services
from crm.admin.base import BigTableAdmin, ReadOnlyAdmin, SourceNameMixin, confirm_action
from crm.admin.filters import (
    CurrencyListFilter,
    EventTypeListFilter,
    VisibleUnitListFilter,
    customer_number_search,
)
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
from crm.money import format_money
from crm.registry import event_type
from crm.selectors.customers import exact_identity_filter, search_filter
from crm.selectors.sources import source_label
from crm.templatetags.crm_tags import customer_name

MASKED_HELP_TEXT = _(
    "Phones, e-mails, WeChat ids and external ids are masked in the admin. To see one in "
    "full, open the customer's 360 view and use its “Show full …” button (recorded in the "
    "audit log)."
)


class IdentityInline(SourceNameMixin, admin.TabularInline[Identity, Customer]):
    """Masked for everybody: the raw ``value`` is never a field here, not even a hidden one."""

    model = Identity
    extra = 0
    fields = ["type", "masked", "verified", "source_name", "created_at"]
    readonly_fields = fields
    can_delete = False

    @admin.display(description=_("value"))
    def masked(self, obj: Identity) -> str:
        return obj.masked_value

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs["help_texts"] = {"masked": MASKED_HELP_TEXT}
        return super().get_formset(request, obj, **kwargs)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CustomerTagInline(admin.TabularInline[CustomerTag, Customer]):
    model = CustomerTag
    extra = 0
    fields = ["tag", "set_by", "rule", "created_at"]
    readonly_fields = ["set_by", "rule", "created_at"]
    autocomplete_fields = ["tag"]


@admin.register(Customer)
class CustomerAdmin(SourceNameMixin, BigTableAdmin):
    list_display = ["name", "kind", "region", "state", "created_at", "view_360"]
    list_filter = ["kind", ("merged_into", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["display_name"]
    search_help_text = _(
        "Name, a full phone number or its last 4 digits, a full e-mail address or an external id."
    )
    readonly_fields = ["merged_into", "merged_at", "created_at", "updated_at", "source_name"]
    fieldsets = [
        (None, {"fields": ["kind", "display_name", "registered_name"]}),
        (_("Person"), {"fields": ["gender", "birthday", "region"]}),
        (_("Origin"), {"fields": ["source_name", "created_at", "updated_at"]}),
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
        # The rule of users who may not reveal, for everybody: the admin never reveals.
        condition = search_filter(search_term, may_reveal=False)
        return (queryset.filter(condition) if condition is not None else queryset.none()), False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # customers are merged, never deleted: their history must stay

    @admin.display(description=_("name"), ordering="display_name")
    def name(self, obj: Customer) -> str:
        """A generated name as every screen shows it: a styled "unnamed customer" with its
        masked identity (sorted after the real names)."""
        return customer_name(obj)

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
class IdentityAdmin(SourceNameMixin, ReadOnlyAdmin):
    list_display = ["type", "masked", "customer", "verified", "source_name", "created_at"]
    list_filter = ["type", "verified"]
    search_fields = ["value"]  # shows the search box; get_search_results does the search
    search_help_text = _("A phone, e-mail, credit code, WeChat id or source:id, matched exactly.")
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
    fields = ["customer", "view_360", "type", "masked", "verified", "source_name", "created_at"]
    readonly_fields = fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Identity], search_term: str
    ) -> tuple[QuerySet[Identity], bool]:
        """Exact ``(type, value)`` lookups of the term as each type normalizes it: the unique
        index answers them (the default ``=value`` search compares ``UPPER(value)``, a scan)."""
        if not search_term.strip():
            return queryset, False
        condition = exact_identity_filter(search_term)
        return (queryset.filter(condition) if condition else queryset.none()), False

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        """No filter on the value from the address bar (``?value__startswith=+86138…``):
        a series of them would spell out a masked value (the admin answers it with a 400)."""
        if lookup.split("__", 1)[0] == "value":
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["help_texts"] = {"masked": MASKED_HELP_TEXT}
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description=_("value"))
    def masked(self, obj: Identity) -> str:
        return obj.masked_value

    @admin.display(description=_("360 view"))
    def view_360(self, obj: Identity) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("customer-detail", args=[obj.customer_id]), _("Open")
        )


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "source_name",
        "business_unit",
        "channel",
        "kind",
        "status",
        "money",
        "occurred_at",
        "customer",
    ]
    # no date_hierarchy: its links come from DISTINCT date_trunc(…) over the whole table
    list_filter = [VisibleUnitListFilter, "channel", "kind", "status", CurrencyListFilter]
    search_fields = ["external_id"]  # shows the search box; get_search_results does the search
    search_help_text = _(
        "source:order id (e.g. pos:SH-0001), or the order id exactly as the source sent it."
    )
    list_select_related = ["business_unit", "customer"]
    raw_id_fields = ["customer", "original"]
    # the page of one transaction: money and the source as every screen shows them
    fields = [
        *("source_name", "external_id", "business_unit", "channel", "kind", "status"),
        *("money", "occurred_at", "customer", "original", "original_external_id", "lines"),
        "ingested_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Transaction]:
        return super().get_queryset(request).visible_to(request.user)  # type: ignore[attr-defined]

    @admin.display(description=_("amount"), ordering="amount")
    def money(self, obj: Transaction) -> str:
        return format_money(obj.amount, obj.currency)

    @admin.display(description=_("source system"), ordering="source")
    def source_name(self, obj: Transaction) -> str:
        return source_label(obj.source)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Transaction], search_term: str
    ) -> tuple[QuerySet[Transaction], bool]:
        """``source:order id`` (the unique index answers it) or the order id alone, as sent,
        case-sensitive (not the default ``UPPER(external_id)``)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        source, sep, external_id = term.partition(":")
        if sep and source and external_id:
            exact = queryset.filter(source=source.strip().lower(), external_id=external_id.strip())
            return exact | queryset.filter(external_id=term), False
        return queryset.filter(external_id=term), False


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "type_label", "customer", "business_unit", "actor", "summary"]
    list_filter = [EventTypeListFilter, VisibleUnitListFilter]
    list_select_related = ["customer", "business_unit", "actor"]
    raw_id_fields = ["customer"]
    search_fields = ["=customer__id"]
    search_help_text = _("A customer's number, exactly.")

    def get_queryset(self, request: HttpRequest) -> QuerySet[TimelineEvent]:
        return super().get_queryset(request).visible_to(request.user)  # type: ignore[attr-defined]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[TimelineEvent], search_term: str
    ) -> tuple[QuerySet[TimelineEvent], bool]:
        return customer_number_search(queryset, search_term, "customer_id"), False

    exclude = ["type"]
    readonly_fields = ["type_label"]

    @admin.display(description=_("type"), ordering="type")
    def type_label(self, obj: TimelineEvent) -> str:
        return str(event_type(obj.type).label)


@admin.register(Consent)
class ConsentAdmin(SourceNameMixin, ReadOnlyAdmin):
    list_display = [
        "customer",
        "channel",
        "purpose",
        "granted",
        "occurred_at",
        "source_name",
        "actor",
    ]
    list_filter = ["channel", "purpose", "granted"]
    list_select_related = ["customer", "actor"]
    raw_id_fields = ["customer"]
    search_fields = ["=customer__id"]
    search_help_text = _("A customer's number, exactly.")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Consent], search_term: str
    ) -> tuple[QuerySet[Consent], bool]:
        return customer_number_search(queryset, search_term, "customer_id"), False


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
    search_fields = ["=customer_a__id"]
    search_help_text = _("A customer's number, exactly.")
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

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[DuplicateCandidate], search_term: str
    ) -> tuple[QuerySet[DuplicateCandidate], bool]:
        first = customer_number_search(queryset, search_term, "customer_a_id")
        second = customer_number_search(queryset, search_term, "customer_b_id")
        return (first | second) if search_term.strip() else queryset, False

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
    search_help_text = _("A customer's number (kept or merged away), or words of the reason.")
    readonly_fields = ["survivor", "loser", "actor", "reason", "summary", "loser_snapshot"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Merge], search_term: str
    ) -> tuple[QuerySet[Merge], bool]:
        term = search_term.strip().lstrip("#")
        if term.isdigit():
            number = int(term)
            return queryset.filter(Q(survivor_id=number) | Q(loser_id=number)), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(PiiAccess)
class PiiAccessAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "customer", "identity_type", "search", "ip"]
    list_filter = ["identity_type"]  # a user filter would scan the whole audit table
    search_fields = ["=user__username"]
    search_help_text = _("The user name exactly, e.g. service.")
    list_select_related = ["user", "customer"]
    raw_id_fields = ["customer"]
