"""The partner credit look-up (scope ``accounts:read``): an account's rating, its effective
credit limit (0 while blacklisted or not yet assessed) and its blacklist status, by id or by
USCC. Never the evidence, the blacklisting's reason or evidence, nor who proposed it. A key
reads only the accounts its business unit deals with; any other is a 404."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.models import Rating
from crm.api.base import ApiViewSet
from crm.api.permissions import IsAuthenticatedPrincipal
from crm.normalizers import InvalidIdentity, normalize_uscc


class CanViewCredit(BasePermission):
    """Signed-in users need ``accounts.view_creditprofile``; keys pass by scope."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if getattr(user, "api_key", None) is not None:
            return True
        if not user.has_perm("accounts.view_creditprofile"):
            raise PermissionDenied(_("You may not read credit profiles."))
        return True


class BlacklistStatusSerializer(serializers.Serializer[Any]):
    active = serializers.BooleanField(
        help_text=gettext_lazy("True while the group does not do business with this customer.")
    )
    since = serializers.DateTimeField(
        allow_null=True, help_text=gettext_lazy("When the blacklisting took effect; null if none.")
    )


class CreditSerializer(serializers.Serializer[Any]):
    account = serializers.IntegerField(help_text=gettext_lazy("The account's id."))
    customer = serializers.IntegerField(help_text=gettext_lazy("The customer master's id."))
    rating = serializers.ChoiceField(
        choices=Rating.choices,
        allow_null=True,
        help_text=gettext_lazy("AAA (best) … C; null while the account has not been assessed."),
    )
    credit_limit = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text=gettext_lazy(
            "The limit the group extends now: 0 while blacklisted or not yet assessed."
        ),
    )
    currency = serializers.CharField(help_text=gettext_lazy("ISO 4217, e.g. CNY."))
    blacklist = BlacklistStatusSerializer()


def _payload(found: selectors.CreditLookup) -> dict[str, Any]:
    return {
        "account": found.account_id,
        "customer": found.customer_id,
        "rating": found.rating,
        "credit_limit": found.credit_limit,
        "currency": found.currency,
        "blacklist": {"active": found.blacklisted, "since": found.blacklisted_since},
    }


CREDIT_EXAMPLE = OpenApiExample(
    "Assessed account",
    value={
        "account": 12,
        "customer": 1024,
        "rating": "A",
        "credit_limit": "1000000.00",
        "currency": "CNY",
        "blacklist": {"active": False, "since": None},
    },
    response_only=True,
)
BLACKLISTED_EXAMPLE = OpenApiExample(
    "Blacklisted account",
    value={
        "account": 13,
        "customer": 2048,
        "rating": "BBB",
        "credit_limit": "0.00",
        "currency": "CNY",
        "blacklist": {"active": True, "since": "2026-11-02T10:15:00+08:00"},
    },
    response_only=True,
)


class CreditViewSet(ApiViewSet):
    """``GET credit/{id}/`` and ``GET credit/lookup/?uscc=``."""

    serializer_class = CreditSerializer
    permission_classes = [IsAuthenticatedPrincipal, CanViewCredit]
    required_scopes = {"GET": "accounts:read"}
    pagination_class = None

    def _answer(self, found: selectors.CreditLookup | None) -> Response:
        if found is None:
            raise Http404
        return Response(CreditSerializer(_payload(found)).data)

    @extend_schema(
        summary=gettext_lazy("An account's credit and blacklist status"),
        description=gettext_lazy(
            "Rating, effective credit limit (0 while the customer is blacklisted or not yet "
            "assessed), currency, and whether and since when the customer is blacklisted. "
            "Only accounts your business unit deals with; any other id is a 404."
        ),
        parameters=[
            OpenApiParameter(
                "id",
                OpenApiTypes.INT,
                OpenApiParameter.PATH,
                description=gettext_lazy("The account's id."),
            )
        ],
        responses={200: CreditSerializer},
        examples=[CREDIT_EXAMPLE, BLACKLISTED_EXAMPLE],
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        try:
            account_id = int(pk or "")
        except ValueError:
            raise Http404 from None
        if not 0 < account_id < 2**63:
            raise Http404
        return self._answer(selectors.credit_lookup(request.user, account_id=account_id))

    @extend_schema(
        summary=gettext_lazy("Look an account's credit up by its USCC"),
        description=gettext_lazy(
            "The Unified Social Credit Code (18 characters, spaces and dashes ignored, "
            "checksum validated). Same answer as the look-up by id; 404 when no account of "
            "your business unit has this code."
        ),
        parameters=[
            OpenApiParameter(
                "uscc",
                OpenApiTypes.STR,
                required=True,
                description=gettext_lazy("e.g. 91310000MA1FL8XQ37"),
            )
        ],
        responses={200: CreditSerializer},
        examples=[CREDIT_EXAMPLE, BLACKLISTED_EXAMPLE],
    )
    @action(detail=False, methods=["get"], url_path="lookup")
    def lookup(self, request: Request) -> Response:
        raw = request.query_params.get("uscc")
        if not raw:
            raise ValidationError({"uscc": [_("Give the account's USCC, e.g. ?uscc=…")]})
        try:
            uscc = normalize_uscc(raw)
        except InvalidIdentity as exc:
            raise ValidationError({"uscc": [exc.message]}) from exc
        return self._answer(selectors.credit_lookup(request.user, uscc=uscc))
