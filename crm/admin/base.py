"""Building blocks every admin module uses (the crm's and the apps'): confirmed bulk actions,
business-unit scoping, lists that stay fast on big tables, read-only history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, Permission
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.errors import DomainError
from crm.roles import role_label
from crm.selectors.customers import estimated_row_count
from crm.selectors.sources import source_label

# Django names its default permissions in English when they are created ("Can add customer");
# shown in the reader's language instead.
_DEFAULT_PERMISSIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def permission_label(permission: Permission) -> str:
    """``app | model | what it allows``, translated (select ``content_type`` with the query)."""
    model = permission.content_type.model_class()
    if model is None:  # a model that no longer exists
        return f"{permission.content_type.app_label} | {permission.codename}"
    action, _sep, model_name = permission.codename.partition("_")
    if action in _DEFAULT_PERMISSIONS and model_name == model._meta.model_name:
        name = _DEFAULT_PERMISSIONS[action] % {"model": model._meta.verbose_name}
    else:
        name = gettext(permission.name)  # a custom permission: its name is a msgid
    app = apps.get_app_config(model._meta.app_label).verbose_name
    return f"{app} | {model._meta.verbose_name} | {name}"


def role_choice_label(group: Group) -> str:
    return role_label(group.name)


class NamedChoicesMixin:
    """Roles and permissions picked in a form show their names, not their codes."""

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]
        if formfield is not None and db_field.related_model is Group:
            formfield.label_from_instance = role_choice_label
        if formfield is not None and db_field.related_model is Permission:
            formfield.queryset = formfield.queryset.select_related("content_type")
            formfield.label_from_instance = permission_label
        return formfield


def confirm_action(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    action: str,
    title: Any,
    question: Any,
) -> TemplateResponse | None:
    """Render a confirmation page for a bulk action; ``None`` once the user has confirmed."""
    if request.POST.get("confirmed") == "yes":
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "question": question,
        "objects": queryset,
        "action": action,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)


def decide_confirmed(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    action: str,
    title: Any,
    question: Any,
    decide: Callable[[Any], object],
    done: Callable[[int], str],
    label: Callable[[Any], str] = lambda row: f"#{row.pk}",
) -> TemplateResponse | None:
    """A confirmed bulk decision: after the confirmation page, ``decide(row)`` for each selected
    row in id order (each its own service call); a row the service refuses shows its
    ``DomainError`` message under ``label(row)`` and the others still go through; ``done(count)``
    tells how many were decided."""
    response = confirm_action(
        modeladmin, request, queryset, action=action, title=title, question=question
    )
    if response is not None:
        return response
    decided = 0
    for row in queryset.order_by("id"):
        try:
            decide(row)
        except DomainError as exc:
            modeladmin.message_user(request, f"{label(row)}: {exc.message}", messages.ERROR)
        else:
            decided += 1
    if decided:
        modeladmin.message_user(request, done(decided), messages.SUCCESS)
    return None


def decision_action(
    name: str,
    *,
    description: Any,
    title: Any,
    question: Any,
    decide: Callable[[Any, HttpRequest], object],
    done: Callable[[int], str],
    label: Callable[[Any], str] = lambda row: f"#{row.pk}",
    pending: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None,
) -> Callable[..., TemplateResponse | None]:
    """An admin action ``name`` for approvers (the admin's ``has_approve_permission``):
    ``decide_confirmed`` on the selected rows (``pending`` narrows them to those still
    waiting), ``decide(row, request)`` calling the service."""

    @admin.action(description=description, permissions=["approve"])
    def action(
        modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        return decide_confirmed(
            modeladmin,
            request,
            pending(queryset) if pending else queryset,
            action=name,
            title=title,
            question=question,
            decide=lambda row: decide(row, request),
            done=done,
            label=label,
        )

    action.__name__ = name
    return action


class SourceNameMixin:
    """``source_name`` for ``list_display`` and ``fields``: a row's source code by its name."""

    @admin.display(description=_("source"), ordering="source")
    def source_name(self, obj: Any) -> str:
        return source_label(obj.source)


class ScopedAdminMixin:
    """Admin lists obey the same business-unit policy as every other screen."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)  # type: ignore[misc]
        return qs.visible_to(request.user) if hasattr(qs, "visible_to") else qs


class EstimatedCountPaginator(Paginator):
    """An unfiltered list shows PostgreSQL's row estimate instead of counting a big table."""

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        query = getattr(self.object_list, "query", None)
        if query is not None and not query.where:
            estimate = estimated_row_count(self.object_list.model)  # type: ignore[union-attr]
            if estimate > 10000:
                return estimate
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
