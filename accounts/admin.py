"""The accounts configuration UI: accounts, contact roles, opportunity stages, opportunities,
relations. Every write goes through ``accounts.services`` so that the rules hold here too
(a parent that closes a loop is a form error, a second primary contact is refused)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import (
    Account,
    AccountRelation,
    Contact,
    ContactRole,
    Opportunity,
    OpportunityStage,
    OpportunityStageChange,
)
from crm.admin.base import BigTableAdmin, ReadOnlyAdmin, ScopedAdminMixin
from crm.errors import DomainError
from crm.models import BusinessUnit, IdentityType
from crm.normalizers import InvalidIdentity, normalize_uscc


class ServiceErrorsMixin:
    """A rule a service refuses after the form passed (another user changed the rows
    meanwhile): nothing is stored (the change view's transaction rolls back), the page comes
    back with the service's message."""

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().changeform_view(request, *args, **kwargs)  # type: ignore[misc]
        except DomainError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(request.get_full_path())


class AccountForm(forms.ModelForm[Account]):
    uscc = forms.CharField(
        label=_("Unified social credit code"),
        max_length=30,
        required=False,
        help_text=_("An organization the master already knows is reused."),
    )
    company_name = forms.CharField(label=_("Company name"), max_length=200, required=False)
    website = forms.URLField(
        label=_("website"), max_length=200, required=False, assume_scheme="https"
    )
    first_unit = forms.ModelChoiceField(
        queryset=BusinessUnit.objects.all(), label=_("Business unit"), required=False
    )

    class Meta:
        model = Account
        fields = [
            "industry",
            "size_band",
            "status",
            "province",
            "city",
            "address",
            "website",
            "owner",
            "parent",
            "business_units",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None:
            for key, message in (
                ("uscc", _("Give the company's unified social credit code.")),
                ("company_name", _("Give the company's name.")),
                ("first_unit", _("Choose the business unit that deals with it.")),
            ):
                if not data.get(key):
                    self.add_error(key, message)
            if data.get("uscc"):
                try:
                    data["uscc"] = normalize_uscc(data["uscc"])
                except InvalidIdentity as exc:
                    self.add_error("uscc", exc.message)
        parent = data.get("parent")
        if (
            parent is not None
            and self.instance.pk is not None
            and services.would_cycle(self.instance.pk, parent.pk)
        ):
            self.add_error("parent", _("This parent belongs to the account's own group: a cycle."))
        return data


_CONTACT_INLINE_FIELDS = ("person", "title", "department", "role_names", "is_primary", "left_on")
_STAGE_CHANGE_FIELDS = ("from_stage", "to_stage", "changed_by", "changed_at", "lost_reason")


class ContactInline(admin.TabularInline[Contact, Account]):
    """Read-mostly: contacts are added through resolution (web UI, API, import)."""

    model = Contact
    fields = _CONTACT_INLINE_FIELDS
    readonly_fields = _CONTACT_INLINE_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        return super().get_queryset(request).select_related("person").prefetch_related("roles")

    @admin.display(description=_("roles"))
    def role_names(self, obj: Contact) -> str:
        return "、".join(role.name for role in obj.roles.all())

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ServiceErrorsMixin, ScopedAdminMixin, BigTableAdmin):
    form = AccountForm
    list_display = ["__str__", "industry", "status", "province", "city", "owner", "parent"]
    list_filter = ["status", "industry", "size_band", "business_units", "owner"]
    list_select_related = ["customer", "owner", "parent__customer"]
    search_fields = ["customer__display_name"]
    search_help_text = _("Company name, or a full unified social credit code.")
    autocomplete_fields = ["parent", "owner"]
    filter_horizontal = ["business_units"]
    readonly_fields = ["customer", "created_at", "updated_at"]
    inlines = [ContactInline]
    ordering = ["-id"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        main = ["uscc", "company_name", "first_unit"] if obj is None else ["customer"]
        return [
            (None, {"fields": [*main, "status", "industry", "size_band"]}),
            (_("Address"), {"fields": ["province", "city", "address", "website"]}),
            (_("Sales"), {"fields": ["owner", "business_units", "parent"]}),
            *([(_("History"), {"fields": ["created_at", "updated_at"]})] if obj else []),
        ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Account], search_term: str
    ) -> tuple[QuerySet[Account], bool]:
        term = search_term.strip()
        try:
            uscc = normalize_uscc(term)
        except InvalidIdentity:
            return super().get_search_results(request, queryset, search_term)
        return (
            queryset.filter(
                customer__identities__type=IdentityType.USCC, customer__identities__value=uscc
            ),
            False,
        )

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        data = form.cleaned_data
        editable = {k: data[k] for k in services.accounts.EDITABLE_FIELDS if k in data}
        user = request.user
        if not change:
            account = services.create_account(
                uscc=data["uscc"],
                name=data["company_name"],
                user=user,
                business_unit=data["first_unit"],
                fields=editable,
            ).account
            obj.pk, obj.customer = account.pk, account.customer
        else:
            services.update_account(account=obj, user=user, fields=editable)
        if "parent" in form.changed_data or (not change and data.get("parent")):
            services.set_parent(account=obj, parent=data.get("parent"), user=user)
        if "owner" in form.changed_data or (not change and data.get("owner")):
            services.assign_owner(account=obj, owner=data.get("owner"), user=user)
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        units = list(form.cleaned_data.get("business_units") or [])
        if not change:
            units.append(form.cleaned_data["first_unit"])
        if "business_units" in form.changed_data or not change:
            services.set_business_units(account=form.instance, units=units, user=request.user)
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(ContactRole)
class ContactRoleAdmin(admin.ModelAdmin[ContactRole]):
    list_display = ["name_zh", "name_en", "position", "is_active"]
    list_editable = ["position", "is_active"]
    search_fields = ["name_zh", "name_en", "code"]
    list_filter = ["is_active"]


@admin.register(OpportunityStage)
class OpportunityStageAdmin(admin.ModelAdmin[OpportunityStage]):
    list_display = [
        "name_zh",
        "name_en",
        "position",
        "probability",
        "is_won",
        "is_lost",
        "is_active",
    ]
    list_editable = ["position", "probability", "is_active"]
    search_fields = ["name_zh", "name_en", "code"]
    list_filter = ["is_won", "is_lost", "is_active"]


class ContactForm(forms.ModelForm[Contact]):
    class Meta:
        model = Contact
        fields = ["roles", "title", "department", "is_primary"]


@admin.register(Contact)
class ContactAdmin(ServiceErrorsMixin, ScopedAdminMixin, BigTableAdmin):
    form = ContactForm
    list_display = ["person", "account", "title", "department", "is_primary", "left_on"]
    list_filter = ["is_primary", ("left_on", admin.EmptyFieldListFilter), "roles"]
    list_select_related = ["person", "account__customer"]
    search_fields = ["person__display_name", "account__customer__display_name"]
    readonly_fields = ["person", "account", "left_on", "created_at"]
    fields = ["person", "account", "roles", "title", "department", "is_primary", "left_on"]
    filter_horizontal = ["roles"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people are found or created through resolution (web UI, API, import)

    def save_model(self, request: HttpRequest, obj: Contact, form: Any, change: bool) -> None:
        """Written in ``save_related``, with the roles, by ``update_contact``."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        data = form.cleaned_data
        services.update_contact(
            contact=form.instance,
            user=request.user,
            roles=list(data["roles"]),
            title=data["title"],
            department=data["department"],
            is_primary=data["is_primary"],
        )


class OpportunityForm(forms.ModelForm[Opportunity]):
    class Meta:
        model = Opportunity
        fields = [
            "account",
            "name",
            "owner",
            "business_unit",
            "amount",
            "currency",
            "stage",
            "lost_reason",
            "expected_close",
            "products",
            "notes",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        stage = data.get("stage")
        if stage is not None and stage.is_lost and not (data.get("lost_reason") or "").strip():
            self.add_error("lost_reason", _("Say why the opportunity was lost."))
        return data


class StageChangeInline(admin.TabularInline[OpportunityStageChange, Opportunity]):
    model = OpportunityStageChange
    fields = _STAGE_CHANGE_FIELDS
    readonly_fields = _STAGE_CHANGE_FIELDS
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Opportunity)
class OpportunityAdmin(ServiceErrorsMixin, ScopedAdminMixin, BigTableAdmin):
    form = OpportunityForm
    list_display = ["name", "account", "stage", "amount", "currency", "owner", "expected_close"]
    list_filter = ["stage", "business_unit", "owner", "currency", "expected_close"]
    list_select_related = ["account__customer", "stage", "owner"]
    search_fields = ["name", "account__customer__display_name"]
    autocomplete_fields = ["account", "owner"]
    inlines = [StageChangeInline]
    ordering = ["-id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["account", "business_unit"] if obj else []

    def save_model(self, request: HttpRequest, obj: Opportunity, form: Any, change: bool) -> None:
        data, user = form.cleaned_data, request.user
        fields = {k: data[k] for k in services.opportunities.OPPORTUNITY_FIELDS if k in data}
        if not change:
            created = services.create_opportunity(
                account=data["account"],
                owner=data["owner"],
                business_unit=data["business_unit"],
                user=user,
                stage=data["stage"],
                **fields,
            )
            obj.pk = created.pk
        else:
            services.update_opportunity(opportunity=obj, user=user, fields=fields)
            if "stage" in form.changed_data:
                services.move_opportunity(
                    opportunity=obj,
                    stage=data["stage"],
                    user=user,
                    lost_reason=data.get("lost_reason") or "",
                )
            if "owner" in form.changed_data:
                services.reassign_opportunity(opportunity=obj, owner=data["owner"], user=user)
        obj.refresh_from_db()


@admin.register(AccountRelation)
class AccountRelationAdmin(ServiceErrorsMixin, admin.ModelAdmin[AccountRelation]):
    list_display = ["from_account", "kind", "to_account", "valid_from", "valid_to"]
    list_filter = ["kind"]
    list_select_related = ["from_account__customer", "to_account__customer"]
    search_fields = ["from_account__customer__display_name", "to_account__customer__display_name"]
    autocomplete_fields = ["from_account", "to_account"]

    def save_model(
        self, request: HttpRequest, obj: AccountRelation, form: Any, change: bool
    ) -> None:
        if change:
            obj.save()  # dates and note; the database checks their order
            return
        created = services.add_relation(
            from_account=obj.from_account,
            to_account=obj.to_account,
            kind=obj.kind,
            user=request.user,
            valid_from=obj.valid_from,
            valid_to=obj.valid_to,
            note=obj.note,
        )
        obj.pk = created.pk


@admin.register(OpportunityStageChange)
class OpportunityStageChangeAdmin(ReadOnlyAdmin):
    list_display = ["opportunity", "from_stage", "to_stage", "changed_by", "changed_at"]
    list_filter = ["to_stage", "changed_at"]
    list_select_related = ["opportunity", "from_stage", "to_stage", "changed_by"]
    search_fields = ["opportunity__name"]
