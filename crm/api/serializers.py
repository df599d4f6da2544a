from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from crm.models import BusinessUnit, Job


class BusinessUnitSerializer(serializers.ModelSerializer[BusinessUnit]):
    code = serializers.SlugField(max_length=32, help_text=_("Stored upper-case, e.g. AUTO."))

    class Meta:
        model = BusinessUnit
        fields = ["id", "code", "name", "industry", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_code(self, value: str) -> str:
        code = BusinessUnit.normalize_code(value)
        others = BusinessUnit.objects.filter(code=code)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError(
                _("A business unit with this code already exists."), code="unique"
            )
        return code


class JobSerializer(serializers.ModelSerializer[Job]):
    label = serializers.CharField(read_only=True)
    business_unit = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "label",
            "status",
            "progress",
            "message",
            "result",
            "error",
            "cancel_requested",
            "business_unit",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class PrincipalSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=["user", "api_key"], help_text=_("Who is calling."))
    username = serializers.CharField(allow_null=True)
    api_key = serializers.CharField(allow_null=True, help_text=_("The key's name."))
    business_units = serializers.ListField(child=serializers.CharField())
    scopes = serializers.ListField(child=serializers.CharField())
    language = serializers.CharField()
