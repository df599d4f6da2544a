"""Customer master endpoints: look a customer up by identity, read one (a merged id answers
with a redirect to the survivor). Phones and e-mails are masked unless a signed-in user who
may reveal them asks (``?reveal=mobile``), which is audited. Orders: ``crm.api.transactions``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from crm import services
from crm.api.base import ApiViewSet
from crm.api.permissions import IsAuthenticatedPrincipal, UserModelPermissions
from crm.middleware import client_ip
from crm.models import (
    PII_IDENTITY_TYPES,
    Customer,
    CustomerKind,
    Gender,
    Identity,
    IdentityType,
)
from crm.normalizers import InvalidIdentity

# Every personal identity type is masked unless revealed (the rule is crm.normalizers').
REVEALABLE_TYPES = tuple(t for t in IdentityType.values if t in PII_IDENTITY_TYPES)


def partner_unit(user: Any) -> int | None:
    """The business unit of an API key (which reads only what that unit recorded)."""
    api_key = getattr(user, "api_key", None)
    return None if api_key is None else api_key.business_unit_id


class IdentitySerializer(serializers.ModelSerializer[Identity]):
    value = serializers.SerializerMethodField(
        help_text=gettext_lazy(
            "Personal identities (phones, e-mails, WeChat and external ids) are masked unless "
            "you ask for them with the reveal parameter."
        )
    )

    class Meta:
        model = Identity
        fields = ["type", "value", "verified", "source"]

    def get_value(self, obj: Identity) -> str:
        """``context["reveal"]``: the identity types the caller was shown in full (audited)."""
        if not obj.is_pii or obj.type in self.context.get("reveal", ()):
            return obj.value
        return obj.masked_value


PARTNER_HIDDEN = (
    "kind",
    "display_name",
    "gender",
    "birthday",
    "region",
    "registered_name",
    "created_at",
)


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    """A customer. ``context["partner_unit"]`` (an API key's unit): only the identities that
    unit supplied, and none of the attributes other units recorded (they read ``null``)."""

    identities = serializers.SerializerMethodField()
    display_name = serializers.CharField(
        allow_null=True, help_text=gettext_lazy("Null for API keys: other units recorded it.")
    )
    kind = serializers.ChoiceField(choices=CustomerKind.choices, allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    gender = serializers.ChoiceField(choices=Gender.choices, allow_null=True)
    birthday = serializers.DateField(allow_null=True)
    region = serializers.CharField(allow_null=True)
    registered_name = serializers.CharField(allow_null=True)

    class Meta:
        model = Customer
        fields = ["id", *PARTNER_HIDDEN, "identities"]

    def to_representation(self, instance: Customer) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if self.context.get("partner_unit") is not None:
            data.update(dict.fromkeys(PARTNER_HIDDEN))
        return data

    @extend_schema_field(IdentitySerializer(many=True))
    def get_identities(self, obj: Customer) -> list[dict[str, Any]]:
        unit = self.context.get("partner_unit")
        identities = [i for i in obj.identities.all() if unit is None or i.business_unit_id == unit]
        return IdentitySerializer(identities, many=True, context=self.context).data  # type: ignore[return-value]


class MergedCustomerSerializer(serializers.Serializer[Any]):
    merged_into = serializers.IntegerField(help_text=gettext_lazy("The survivor's id."))


CUSTOMER_EXAMPLE = OpenApiExample(
    "Customer",
    value={
        "id": 1024,
        "kind": "person",
        "display_name": "王伟",
        "gender": "male",
        "birthday": "1988-05-01",
        "region": "上海",
        "registered_name": "",
        "created_at": "2026-11-24T09:00:00+08:00",
        "identities": [
            {"type": "mobile", "value": "138****8000", "verified": True, "source": "pos"},
            {"type": "wechat_unionid", "value": "oUx9a8…", "verified": False, "source": "mini"},
        ],
    },
    response_only=True,
)


REVEAL_PARAMETER = OpenApiParameter(
    "reveal",
    OpenApiTypes.STR,
    enum=list(REVEALABLE_TYPES),
    required=False,
    description=gettext_lazy(
        "Show this identity type in full instead of masked. Only for signed-in users with the "
        "permission to reveal personal data, never for API keys (403 `reveal_not_allowed`); "
        "every reveal is recorded in the audit log."
    ),
)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("Find customers by an identity"),
        description=gettext_lazy(
            "Give exactly one identity: `mobile` (any spelling: 138 0013 8000, +86…), `email`, "
            "`wechat_unionid`, `wechat_openid`, `uscc` or `external` (source:id). It is "
            "normalized, then matched exactly. Returns at most one customer."
        ),
        parameters=[
            *(OpenApiParameter(t, OpenApiTypes.STR, required=False) for t in IdentityType.values),
            REVEAL_PARAMETER,
        ],
        examples=[CUSTOMER_EXAMPLE],
    ),
    retrieve=extend_schema(
        summary=gettext_lazy("One customer"),
        description=gettext_lazy(
            "A customer merged into another answers 301 with the survivor's URL (when you may "
            "see the survivor)."
        ),
        parameters=[
            REVEAL_PARAMETER,
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                location=OpenApiParameter.HEADER,
                description=gettext_lazy("The survivor's URL."),
                response=[301],
            ),
        ],
        examples=[CUSTOMER_EXAMPLE],
        responses={
            200: CustomerSerializer,
            301: OpenApiResponse(
                response=MergedCustomerSerializer,
                description=gettext_lazy(
                    "Merged into another customer: `Location` is the survivor's URL."
                ),
            ),
        },
    ),
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = CustomerSerializer
    permission_classes = [IsAuthenticatedPrincipal, UserModelPermissions]
    required_scopes = {"GET": "customers:read"}
    pagination_class = None

    def get_queryset(self) -> QuerySet[Customer]:
        return Customer.objects.visible_to(self.request.user).prefetch_related("identities")

    def _requested_reveal(self) -> str | None:
        """The ``reveal`` parameter, checked: a revealable type the caller may reveal."""
        requested = self.request.query_params.get("reveal")
        if requested is None:
            return None
        if requested not in REVEALABLE_TYPES:
            raise ValidationError(
                {
                    "reveal": [
                        _("Reveal one of %(types)s.") % {"types": ", ".join(REVEALABLE_TYPES)}
                    ]
                },
                code="invalid_choice",
            )
        user = self.request.user
        if getattr(user, "api_key", None) is not None or not user.has_perm(
            "crm.reveal_customer_pii"
        ):
            raise services.RevealNotAllowed(
                _("You may not see full phone numbers and e-mail addresses.")
            )
        return requested

    def _data(self, customers: list[Customer], reveal: str | None) -> Any:
        """The serialized customers; ``reveal`` is shown in full and recorded per customer."""
        if reveal is not None:
            for customer in customers:
                services.reveal_identities(
                    customer=customer,
                    user=self.request.user,
                    identity_type=reveal,
                    ip=client_ip(self.request._request),
                )
        context = {
            **self.get_serializer_context(),
            "reveal": {reveal} if reveal else set(),
            "partner_unit": partner_unit(self.request.user),
        }
        return CustomerSerializer(customers, many=True, context=context).data

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = [
            (t, request.query_params[t]) for t in IdentityType.values if t in request.query_params
        ]
        if len(given) != 1:
            raise ValidationError(
                {"identity": [_("Give exactly one identity, e.g. ?mobile=13800138000.")]}
            )
        type_, raw = given[0]
        try:
            value = services.normalize_identity(type_, raw)
        except InvalidIdentity as exc:
            raise ValidationError({type_: [exc.message]}) from exc
        reveal = self._requested_reveal()
        if partner_unit(request.user) is None:  # staff without the reveal right: counted
            services.check_identity_search(user=request.user, query=raw)
        match = {"identities__type": type_, "identities__value": value}
        if (unit := partner_unit(request.user)) is not None:
            match["identities__business_unit"] = unit  # only what the key's unit recorded
        customers = self.get_queryset().filter(**match, merged_into__isnull=True)
        return Response(self._data(list(customers[:1]), reveal))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        reveal = self._requested_reveal()
        try:
            pk = int(kwargs["pk"])
        except ValueError:
            raise Http404 from None
        # A tombstone's orders moved to its survivor, so a key's scope never sees the tombstone
        # itself: whether the caller sees the survivor decides the redirect.
        survivor_id = (
            Customer.objects.filter(pk=pk, merged_into__isnull=False)
            .values_list("merged_into_id", flat=True)
            .first()
        )
        if survivor_id is not None and self.get_queryset().filter(pk=survivor_id).exists():
            response = Response(
                {"merged_into": survivor_id}, status=status.HTTP_301_MOVED_PERMANENTLY
            )
            location = reverse("api:customer-api-detail", args=[survivor_id])
            query = request.META.get("QUERY_STRING")
            location = request.build_absolute_uri(location)
            response["Location"] = f"{location}?{query}" if query else location
            return response
        customer = get_object_or_404(self.get_queryset().filter(merged_into__isnull=True), pk=pk)
        return Response(self._data([customer], reveal)[0])
