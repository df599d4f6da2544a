"""Order push: ``POST /transactions/`` idempotent by ``Idempotency-Key`` (the customer found or
created from the identities it carries), and the unit's orders listed."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from crm import services
from crm.api.base import ApiViewSet
from crm.api.permissions import IsAuthenticatedPrincipal, UserModelPermissions
from crm.api.shared import validated
from crm.errors import DomainError
from crm.models import (
    BusinessUnit,
    Channel,
    IdentityType,
    Transaction,
    TransactionKind,
)
from crm.policy import visible_unit_ids


class IdentityInputSerializer(serializers.Serializer[Any]):
    """Identities a push carries are stored unverified, with the pushing unit as their
    provenance; only staff verify an identity."""

    type = serializers.ChoiceField(choices=IdentityType.choices)
    value = serializers.CharField(max_length=200)
    verified = serializers.BooleanField(
        required=False, help_text=gettext_lazy("Only false: staff verify identities.")
    )

    def validate_verified(self, value: bool) -> bool:
        if value:
            raise ValidationError(
                _("Identities sent through the API are stored unverified."), code="read_only"
            )
        return value


class CustomerInputSerializer(serializers.Serializer[Any]):
    identities = IdentityInputSerializer(many=True, min_length=1)  # type: ignore[call-arg]
    display_name = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=["person", "organization"], required=False)


class TransactionInSerializer(serializers.Serializer[Any]):
    source = serializers.RegexField(
        r"^[a-z0-9][a-z0-9_.-]{0,39}$",
        help_text=gettext_lazy("Your system's code, e.g. pos or tmall; with external_id unique."),
    )
    external_id = serializers.CharField(max_length=100)
    business_unit = serializers.SlugField(
        required=False, help_text=gettext_lazy("Unit code; an API key's own unit by default.")
    )
    occurred_at = serializers.DateTimeField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.RegexField(r"^[A-Z]{3}$", default="CNY")
    channel = serializers.ChoiceField(choices=Channel.choices)
    kind = serializers.ChoiceField(choices=TransactionKind.choices, default="purchase")
    original_external_id = serializers.CharField(max_length=100, required=False, default="")
    customer = CustomerInputSerializer(required=False, help_text=gettext_lazy("Omit for a guest."))
    lines = serializers.ListField(child=serializers.DictField(), required=False, default=list)


class TransactionSerializer(serializers.ModelSerializer[Transaction]):
    business_unit = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Transaction
        fields = [
            "id",
            "source",
            "external_id",
            "business_unit",
            "customer",
            "channel",
            "kind",
            "status",
            "original",
            "occurred_at",
            "amount",
            "currency",
            "lines",
        ]


@cache
def _order_output() -> TransactionSerializer:
    """One serializer for every pushed order's answer: its fields are built once per
    process (building them from the model took a quarter of a push's time), and
    ``to_representation`` keeps nothing between calls."""
    return TransactionSerializer()


ORDER_EXAMPLE = OpenApiExample(
    "Store purchase",
    value={
        "source": "pos",
        "external_id": "SH-0001-20261124-0042",
        "occurred_at": "2026-11-24T10:15:00+08:00",
        "amount": "268.50",
        "currency": "CNY",
        "channel": "store",
        "customer": {"identities": [{"type": "mobile", "value": "138 0013 8000"}]},
    },
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Transactions of your business units, newest first")),
    create=extend_schema(
        summary=gettext_lazy("Push an order (idempotent)"),
        description=gettext_lazy(
            "The same (source, external_id) twice changes nothing: the second call answers 200 "
            "with the stored transaction, the first 201. The customer is found by its "
            "identities or created; a cancellation links to `original_external_id`."
        ),
        request=TransactionInSerializer,
        responses={201: TransactionSerializer, 200: TransactionSerializer},
        examples=[ORDER_EXAMPLE],
    ),
)
class TransactionViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, ApiViewSet):
    serializer_class = TransactionSerializer
    permission_classes = [IsAuthenticatedPrincipal, UserModelPermissions]
    required_scopes = {"GET": "transactions:read", "POST": "transactions:write"}
    filterset_fields = ["source", "channel", "kind", "status", "customer"]
    ordering = ("-occurred_at", "-id")  # the cursor's position is occurred_at; ties by offset

    def get_queryset(self) -> QuerySet[Transaction]:
        return Transaction.objects.visible_to(self.request.user).select_related("business_unit")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(TransactionInSerializer, request.data)
        unit = self._unit(data.get("business_unit"))
        customer = data.get("customer") or {}
        row = services.TransactionInput(
            external_id=data["external_id"],
            occurred_at=data["occurred_at"],
            amount=data["amount"],
            channel=data["channel"],
            currency=data["currency"],
            kind=data["kind"],
            original_external_id=data["original_external_id"],
            identities=[
                services.IdentityInput(i["type"], i["value"])
                for i in customer.get("identities", [])
            ],
            customer_attributes={
                k: customer[k] for k in ("display_name", "kind") if customer.get(k)
            },
            lines=data["lines"],
        )
        try:
            stored, created = services.ingest_transaction(
                business_unit=unit, source=data["source"], row=row
            )
        except (services.ExternalIdTaken, services.IngestBusy):
            raise  # 409, rendered as problem+json
        except DomainError as exc:
            raise ValidationError({exc.field or "non_field_errors": [exc.message]}) from exc
        return Response(
            _order_output().to_representation(stored),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def _unit(self, code: str | None) -> BusinessUnit:
        api_key = getattr(self.request.user, "api_key", None)
        if api_key is not None and (
            not code or BusinessUnit.normalize_code(code) == api_key.business_unit.code
        ):
            return api_key.business_unit  # loaded with the key: no query
        visible = visible_unit_ids(self.request.user)
        units = BusinessUnit.objects.all()
        if visible is not None:
            units = units.filter(pk__in=visible)
        if code:
            unit = units.filter(code=BusinessUnit.normalize_code(code)).first()
        else:
            unit = units.first() if visible is not None and len(visible) == 1 else None
        if unit is None:
            raise ValidationError(
                {"business_unit": [_("Give the code of a business unit you belong to.")]}
            )
        return unit
