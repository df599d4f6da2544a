"""Rule tags and segments in the admin: the rule is edited in the builder (never raw JSON),
saved through the services; tag rules are applied now by an action (a job, after a
confirmation page)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm import services
from crm.admin.base import ReadOnlyAdmin, confirm_action
from crm.models import Segment, SegmentSnapshot, TagRule
from crm.rules import RuleInvalid, validate_rule
from crm.web.rule_builder import RuleBuilderWidget, describe_rule


class RuleFormField(forms.CharField):
    """The builder's JSON, validated whole: an error names each part and why."""

    widget = RuleBuilderWidget

    def to_python(self, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        text = super().to_python(value)
        try:
            return json.loads(text or "null")
        except ValueError as exc:
            raise forms.ValidationError(_("Build the rule with the fields above.")) from exc

    def validate(self, value: Any) -> None:
        try:
            validate_rule(value)
        except RuleInvalid as exc:
            raise forms.ValidationError(
                [f"{e.path}: {e.message}" if e.path else e.message for e in exc.errors]
            ) from exc

    def prepare_value(self, value: Any) -> Any:
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class TagRuleForm(forms.ModelForm[TagRule]):
    rule = RuleFormField(label=_("rule"), widget=RuleBuilderWidget(attrs={"id": "tag-rule"}))

    class Meta:
        model = TagRule
        fields = ["tag", "rule", "is_active"]


@admin.register(TagRule)
class TagRuleAdmin(admin.ModelAdmin[TagRule]):
    form = TagRuleForm
    list_display = ["tag", "is_active", "summary", "applied_at", "matched", "added", "removed"]
    list_filter = ["is_active"]
    search_fields = ["tag__name", "tag__name_en", "tag__category__name"]
    list_select_related = ["tag__category"]
    readonly_fields = ["applied_at", "matched", "added", "removed", "created_by"]
    actions = ["apply_now"]

    @admin.display(description=_("who gets the tag"))
    def summary(self, obj: TagRule) -> str:
        return describe_rule(obj.rule)

    def save_model(self, request: HttpRequest, obj: TagRule, form: Any, change: bool) -> None:
        saved = services.save_tag_rule(
            tag=form.cleaned_data["tag"],
            rule=form.cleaned_data["rule"],
            actor=request.user,
            is_active=form.cleaned_data["is_active"],
        )
        obj.pk = saved.pk

    @admin.action(description=_("Apply the selected tag rules now"))
    def apply_now(self, request: HttpRequest, queryset: Any) -> TemplateResponse | None:
        response = confirm_action(
            self,
            request,
            queryset,
            action="apply_now",
            title=_("Apply tag rules now"),
            question=_(
                "Apply these rules now? Their tags are added to every customer who matches and "
                "taken off those who no longer do (tags set by hand stay)."
            ),
        )
        if response is not None:
            return response
        job = services.start_tag_rules_job(
            user=request.user, rule_ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(
            request,
            format_html(
                '{} <a href="{}">{}</a>',
                _("The rules are being applied."),
                reverse("job-detail", args=[job.pk]),
                _("Follow the job"),
            ),
            messages.SUCCESS,
        )
        return None


class SegmentForm(forms.ModelForm[Segment]):
    rule = RuleFormField(label=_("rule"), widget=RuleBuilderWidget(attrs={"id": "segment-rule"}))

    class Meta:
        model = Segment
        fields = ["name", "description", "rule"]


class SegmentSnapshotInline(admin.TabularInline[SegmentSnapshot, Segment]):
    model = SegmentSnapshot
    fields = ["taken_at", "taken_by", "member_count"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin[Segment]):
    form = SegmentForm
    list_display = ["name", "mode", "owner", "summary", "updated_at", "screen"]
    list_filter = ["mode"]
    search_fields = ["name", "description"]
    list_select_related = ["owner"]
    readonly_fields = ["mode", "owner", "created_at", "updated_at"]
    inlines = [SegmentSnapshotInline]

    @admin.display(description=_("who is in it"))
    def summary(self, obj: Segment) -> str:
        return describe_rule(obj.rule)

    @admin.display(description=_("segment page"))
    def screen(self, obj: Segment) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("segment-detail", args=[obj.pk]), _("Open")
        )

    def save_model(self, request: HttpRequest, obj: Segment, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            services.update_segment(
                segment=obj, name=data["name"], description=data["description"], rule=data["rule"]
            )
        else:
            saved = services.create_segment(
                name=data["name"],
                description=data["description"],
                rule=data["rule"],
                owner=request.user,
            )
            obj.pk = saved.pk


@admin.register(SegmentSnapshot)
class SegmentSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["segment", "taken_at", "taken_by", "member_count"]
    list_select_related = ["segment", "taken_by"]
    search_fields = ["segment__name"]
