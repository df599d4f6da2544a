"""Accounts API serializers. Writes name their fields explicitly: a field not listed (owner,
business units, credit or blacklist fields…) is refused by name, never silently ignored."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import (
    Account,
    AccountStatus,
    Contact,
    ContactRole,
    Industry,
    Opportunity,
    OpportunityStage,
    SizeBand,
)
from crm.models import IdentityType


class StrictSerializer(serializers.Serializer[Any]):
    """Refuses fields it does not declare (mass assignment): 400 naming each."""

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [
                            serializers.ErrorDetail(
                                _("“%(field)s” cannot be set through this endpoint.")
                                % {"field": name},
                                code="read_only",
                            )
                        ]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


class AccountSerializer(serializers.ModelSerializer[Account]):
    name = serializers.CharField(source="customer.display_name", read_only=True)
    uscc = serializers.SerializerMethodField()
    business_units = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    # Blank until someone fills them: read-only fields lose the model's blank=True, so the
    # schema must be told ("" is neither a section letter nor a URI).
    industry = serializers.ChoiceField(choices=Industry.choices, allow_blank=True, read_only=True)
    website = serializers.CharField(read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "customer",
            "name",
            "uscc",
            "industry",
            "size_band",
            "status",
            "province",
            "city",
            "address",
            "website",
            "owner",
            "business_units",
            "parent",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_uscc(self, obj: Account) -> str | None:
        codes = [i.value for i in obj.customer.identities.all() if i.type == IdentityType.USCC]
        return codes[0] if codes else None


class AccountFieldsSerializer(StrictSerializer):
    industry = serializers.ChoiceField(choices=Industry.choices, required=False, allow_blank=True)
    size_band = serializers.ChoiceField(choices=SizeBand.choices, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=AccountStatus.choices, required=False)
    province = serializers.CharField(max_length=40, required=False, allow_blank=True)
    city = serializers.CharField(max_length=40, required=False, allow_blank=True)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    website = serializers.URLField(max_length=200, required=False, allow_blank=True)
    parent = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text=gettext_lazy("The group account this company belongs to (null: none)."),
    )


class AccountCreateSerializer(AccountFieldsSerializer):
    uscc = serializers.CharField(
        max_length=30, help_text=gettext_lazy("Unified social credit code (18 characters).")
    )
    name = serializers.CharField(max_length=200)
    business_unit = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=gettext_lazy("Your unit that deals with it (needed if you are in several)."),
    )


class ContactSerializer(serializers.ModelSerializer[Contact]):
    name = serializers.CharField(source="person.display_name", read_only=True)
    roles = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "account",
            "person",
            "name",
            "roles",
            "title",
            "department",
            "is_primary",
            "left_on",
        ]
        read_only_fields = fields


def _role_field() -> serializers.SlugRelatedField[ContactRole]:
    return serializers.SlugRelatedField(
        slug_field="code",
        many=True,
        required=False,
        queryset=ContactRole.objects.filter(is_active=True),
        help_text=gettext_lazy("Role codes: decision_maker, influencer, purchaser…"),
    )


class ContactCreateSerializer(StrictSerializer):
    account = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=200)
    mobile = serializers.CharField(max_length=40, required=False)
    email = serializers.CharField(max_length=254, required=False)
    roles = _role_field()
    title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    department = serializers.CharField(max_length=100, required=False, allow_blank=True)
    is_primary = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("mobile") and not attrs.get("email"):
            raise serializers.ValidationError(
                {"mobile": [_("Give the contact's mobile phone or e-mail.")]}
            )
        return attrs


class ContactUpdateSerializer(StrictSerializer):
    roles = _role_field()
    title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    department = serializers.CharField(max_length=100, required=False, allow_blank=True)
    is_primary = serializers.BooleanField(required=False)
    left = serializers.BooleanField(
        required=False, help_text=gettext_lazy("true: the person no longer works there.")
    )


class OpportunitySerializer(serializers.ModelSerializer[Opportunity]):
    stage = serializers.SlugRelatedField(slug_field="code", read_only=True)
    probability = serializers.IntegerField(source="stage.probability", read_only=True)

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "account",
            "name",
            "owner",
            "business_unit",
            "amount",
            "currency",
            "stage",
            "probability",
            "expected_close",
            "products",
            "notes",
            "lost_reason",
            "created_at",
        ]
        read_only_fields = fields


class OpportunityFieldsSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)  # type: ignore[call-overload]
    currency = serializers.CharField(min_length=3, max_length=3, required=False)
    expected_close = serializers.DateField(required=False, allow_null=True)
    products = serializers.CharField(max_length=300, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class InvolvedContactSerializer(StrictSerializer):
    contact = serializers.IntegerField(min_value=1)
    roles = _role_field()


class OpportunityCreateSerializer(OpportunityFieldsSerializer):
    account = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=200)
    business_unit = serializers.IntegerField(required=False, min_value=1)
    stage = serializers.SlugRelatedField(
        slug_field="code",
        required=False,
        queryset=OpportunityStage.objects.filter(is_active=True),
    )
    contacts = InvolvedContactSerializer(
        many=True,
        required=False,
        help_text=gettext_lazy("Contacts of the account involved, with their roles in it."),
    )


class OpportunityMoveSerializer(StrictSerializer):
    stage = serializers.SlugRelatedField(
        slug_field="code", queryset=OpportunityStage.objects.filter(is_active=True)
    )
    lost_reason = serializers.CharField(max_length=300, required=False, allow_blank=True)
