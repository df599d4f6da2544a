"""The platform's admin: business units, users and roles, API keys, jobs, stored API responses."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import IntegrityError
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import services
from crm.admin.base import NamedChoicesMixin, ScopedAdminMixin, confirm_action
from crm.admin.filters import JobKindListFilter, RoleListFilter
from crm.errors import unique_violation
from crm.models import ApiKey, BusinessUnit, IdempotencyKey, Job, Role, User
from crm.policy import sees_all_units
from crm.roles import role_label
from crm.scopes import known_scopes


class BusinessUnitForm(forms.ModelForm[BusinessUnit]):
    class Meta:
        model = BusinessUnit
        fields = ["code", "name", "industry", "time_zone", "is_active"]

    def clean_code(self) -> str:
        code = BusinessUnit.normalize_code(self.cleaned_data["code"])
        others = BusinessUnit.objects.filter(code=code).exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("A business unit with this code already exists."))
        return code


@admin.register(BusinessUnit)
class BusinessUnitAdmin(ScopedAdminMixin, admin.ModelAdmin[BusinessUnit]):
    form = BusinessUnitForm
    list_display = ["code", "name", "industry", "is_active", "created_at"]
    list_filter = ["industry", "is_active"]
    search_fields = ["code", "name"]
    ordering = ["code"]

    def changeform_view(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().changeform_view(request, *args, **kwargs)
        except IntegrityError as exc:
            if unique_violation(exc) is None:
                raise
            # Another admin saved the same code first; validating again shows the field error.
            return super().changeform_view(request, *args, **kwargs)


@admin.register(User)
class UserAdmin(NamedChoicesMixin, DjangoUserAdmin):
    list_display = [
        "username",
        "email",
        "first_name",
        "last_name",
        "roles",
        "is_active",
        "last_login",
    ]
    list_filter = [
        "is_active",
        "is_staff",
        "is_superuser",
        RoleListFilter,
        ("business_units", admin.RelatedOnlyFieldListFilter),
        "language",
    ]
    search_fields = ["username", "first_name", "last_name", "email"]
    filter_horizontal = ["groups", "user_permissions", "business_units"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Group CRM"), {"fields": ("business_units", "language")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Group CRM"), {"fields": ("email", "business_units", "groups", "language")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).visible_to(request.user).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def roles(self, obj: User) -> str:
        return ", ".join(sorted(role_label(g.name) for g in obj.groups.all()))


class ApiKeyForm(forms.ModelForm[ApiKey]):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = ApiKey
        fields = ["name", "business_unit", "scopes", "rate", "expires_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "scopes" in self.fields:  # read-only once the key is issued
            choices = [(k, f"{k} — {v}") for k, v in known_scopes().items()]
            self.fields["scopes"].choices = choices

    def clean_expires_at(self) -> Any:
        value = self.cleaned_data.get("expires_at")
        if value and value <= timezone.now():
            raise forms.ValidationError(_("The expiry must be in the future."))
        return value


# The plaintext of a key just issued, kept in the session until the page showing it is read.
ISSUED_KEY_SESSION = "crm.issued_api_key"


@admin.register(ApiKey)
class ApiKeyAdmin(ScopedAdminMixin, admin.ModelAdmin[ApiKey]):
    form = ApiKeyForm
    list_display = [
        "name",
        "prefix",
        "business_unit",
        "scope_list",
        "state",
        "expires_at",
        "last_used_at",
    ]
    list_filter = [
        ("business_unit", admin.RelatedOnlyFieldListFilter),
        ("revoked_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["business_unit"]
    search_fields = ["name", "prefix", "business_unit__name", "business_unit__code"]
    autocomplete_fields = ["business_unit"]
    readonly_fields = [
        "prefix",
        "created_by",
        "created_at",
        "revoked_at",
        "revoked_by",
        "last_used_at",
    ]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is not None:  # a key's unit and scopes are fixed once issued: issue a new one
            return [*self.readonly_fields, "business_unit", "scopes"]
        return self.readonly_fields

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        fields = ["name", "business_unit", "scopes", "rate", "expires_at"]
        return fields if obj is None else [*fields, *self.readonly_fields]

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description=_("state"))
    def state(self, obj: ApiKey) -> str:
        if obj.is_revoked:
            return str(_("revoked"))
        if obj.is_expired():
            return str(_("expired"))
        return str(_("active"))

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = services.issue_api_key(
            name=obj.name,
            business_unit=obj.business_unit,
            scopes=form.cleaned_data["scopes"],
            created_by=request.user,  # type: ignore[arg-type]
            expires_at=obj.expires_at,
            rate=obj.rate,
        )
        obj.__dict__.update(issued.api_key.__dict__)
        request._issued_raw_key = issued.raw_key  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: Any = None
    ) -> HttpResponse:
        raw_key = getattr(request, "_issued_raw_key", None)
        if raw_key is None:
            return super().response_add(request, obj, post_url_continue)
        # POST, redirect, GET: the secret waits in the (server-side) session for one display,
        # so reloading the page that shows it neither posts the form again (a second live key)
        # nor shows the secret again.
        request.session[ISSUED_KEY_SESSION] = {"pk": obj.pk, "raw_key": raw_key}
        return HttpResponseRedirect(reverse("admin:crm_apikey_issued", args=[obj.pk]))

    def get_urls(self) -> list[URLPattern]:
        issued = path(
            "<int:pk>/issued/",
            self.admin_site.admin_view(self.issued_view),
            name="crm_apikey_issued",
        )
        return [issued, *super().get_urls()]

    def issued_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.get_object(request, str(pk))
        if obj is None or not self.has_view_or_change_permission(request, obj):
            raise Http404
        pending = request.session.get(ISSUED_KEY_SESSION)
        if not pending or pending.get("pk") != obj.pk:
            self.message_user(
                request,
                _(
                    "A key is shown only once, right after it is issued. If it was not copied, "
                    "revoke it and issue a new one."
                ),
                messages.WARNING,
            )
            return HttpResponseRedirect(reverse("admin:crm_apikey_change", args=[obj.pk]))
        del request.session[ISSUED_KEY_SESSION]
        context = {
            **self.admin_site.each_context(request),
            "title": _("API key issued"),
            "api_key": obj,
            "raw_key": pending["raw_key"],
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/crm/apikey/issued.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke selected API keys"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> TemplateResponse | None:
        confirmation = confirm_action(
            self,
            request,
            queryset,
            action="revoke",
            title=_("Revoke API keys"),
            question=_("Partners using these keys will be refused at once. This cannot be undone."),
        )
        if confirmation is not None:
            return confirmation
        count = services.revoke_api_keys(keys=queryset, actor=request.user)  # type: ignore[arg-type]
        self.message_user(
            request,
            ngettext("%(n)d key revoked.", "%(n)d keys revoked.", count) % {"n": count},
            messages.SUCCESS,
        )
        return None


@admin.register(Job)
class JobAdmin(ScopedAdminMixin, admin.ModelAdmin[Job]):
    list_display = [
        "kind_label",
        "status",
        "progress",
        "business_unit",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_filter = [
        "status",
        JobKindListFilter,
        ("business_unit", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["business_unit", "created_by"]
    search_fields = ["=id", "message"]
    search_help_text = _("A job's id exactly, or words of its last message.")
    date_hierarchy = "created_at"
    exclude = ["kind"]  # shown by its name (kind_label)
    readonly_fields = [
        "job_id",
        "kind_label",
        *(f.name for f in Job._meta.fields if f.name not in ("id", "kind")),
    ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Job], search_term: str
    ) -> tuple[QuerySet[Job], bool]:
        term = search_term.strip()
        try:
            uuid.UUID(term)
        except ValueError:  # not an id: the message only (``id = 'words'`` would not parse)
            return queryset.filter(message__icontains=term) if term else queryset, False
        return queryset.filter(pk=term), False

    @admin.display(description=_("ID"))
    def job_id(self, obj: Job) -> str:
        return str(obj.pk)

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, obj: Job) -> str:
        return str(obj.label)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin[IdempotencyKey]):
    """Stored API responses: for administrators only (they may contain any unit's data)."""

    list_display = ["owner", "key", "method", "path", "status_code", "created_at"]
    list_filter = ["method", "status_code"]
    search_fields = ["owner", "key", "path"]
    date_hierarchy = "created_at"
    exclude = ["kind"]  # shown by its name (kind_label)
    readonly_fields = [f.name for f in IdempotencyKey._meta.fields]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return sees_all_units(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_all_units(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.unregister(Group)


@admin.register(Role)
class RoleAdmin(NamedChoicesMixin, GroupAdmin):
    """Roles are groups (``Role`` is a proxy named 角色); their names are stable codes, shown
    by their translated names."""

    list_display = ["label", "permission_count", "user_count"]
    list_display_links = ["label"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Group]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_permissions=Count("permissions", distinct=True),
                n_users=Count("user", distinct=True),
            )
        )

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Group | None = None,
    ) -> Any:
        if obj is not None:  # the page names the role, not its code
            context["subtitle"] = role_label(obj.name)
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description=_("role"), ordering="name")
    def label(self, obj: Group) -> str:
        return role_label(obj.name)

    @admin.display(description=_("users"), ordering="n_users")
    def user_count(self, obj: Group) -> int:
        return obj.n_users  # type: ignore[attr-defined]

    @admin.display(description=_("permissions"), ordering="n_permissions")
    def permission_count(self, obj: Group) -> int:
        return obj.n_permissions  # type: ignore[attr-defined]
