"""Opportunities for signed-in users of the web UI (see ``accounts.api.views``): list, open,
change and move through the stages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.api import serializers as s
from accounts.api.views import caller_unit, visible_account
from accounts.models import Contact, Opportunity
from crm.api.base import ApiViewSet
from crm.api.permissions import IsAuthenticatedPrincipal, UserModelPermissions


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("Opportunities in your business units"),
        parameters=[
            OpenApiParameter("account", OpenApiTypes.INT),
            OpenApiParameter("stage", OpenApiTypes.STR),
        ],
    ),
    retrieve=extend_schema(summary=gettext_lazy("One opportunity")),
    create=extend_schema(
        summary=gettext_lazy("Open an opportunity (you own it)"),
        request=s.OpportunityCreateSerializer,
        responses={201: s.OpportunitySerializer},
        examples=[
            OpenApiExample(
                "New opportunity",
                value={
                    "account": 12,
                    "name": "2027 车队采购",
                    "amount": "1200000.00",
                    "currency": "CNY",
                    "stage": "qualification",
                    "expected_close": "2027-03-31",
                    "contacts": [{"contact": 31, "roles": ["decision_maker"]}],
                },
                request_only=True,
            )
        ],
    ),
    partial_update=extend_schema(
        summary=gettext_lazy("Change an opportunity's details (not its stage)"),
        request=s.OpportunityFieldsSerializer,
        responses={200: s.OpportunitySerializer},
    ),
)
class OpportunityViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ApiViewSet
):
    serializer_class = s.OpportunitySerializer
    permission_classes = [IsAuthenticatedPrincipal, UserModelPermissions]
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Opportunity.objects.none()

    def get_queryset(self) -> QuerySet[Opportunity]:
        qs = Opportunity.objects.visible_to(self.request.user).select_related("stage")
        params = self.request.query_params
        if self.action == "list":
            if params.get("account"):
                if not params["account"].isdigit():
                    raise ValidationError({"account": [_("Give a number.")]})
                qs = qs.filter(account_id=int(params["account"]))
            if params.get("stage"):
                qs = qs.filter(stage__code=params["stage"])
        return qs

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.OpportunityCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        account = visible_account(request.user, v.pop("account"))
        unit = caller_unit(request.user, v.pop("business_unit", None))
        involved = v.pop("contacts", [])
        found = Contact.objects.in_bulk([i["contact"] for i in involved])
        if any(found.get(i["contact"]) is None for i in involved):
            raise ValidationError(
                {"contacts": [_("Every contact involved must work at this account.")]}
            )
        v["contacts"] = [(found[i["contact"]], i.get("roles", [])) for i in involved]
        opportunity = services.create_opportunity(
            account=account,  # type: ignore[arg-type]
            owner=request.user,
            business_unit=unit,
            user=request.user,
            **v,
        )
        return Response(
            s.OpportunitySerializer(self.get_queryset().get(pk=opportunity.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        opportunity = self.get_object()
        data = s.OpportunityFieldsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.update_opportunity(
            opportunity=opportunity, user=request.user, fields=dict(data.validated_data)
        )
        return Response(s.OpportunitySerializer(self.get_queryset().get(pk=opportunity.pk)).data)

    @extend_schema(
        summary=gettext_lazy("Move an opportunity to another stage"),
        description=gettext_lazy(
            "Kept in the stage history. Moving to a lost stage needs `lost_reason` (400 "
            "`lost_reason_required`); moving to the stage it is in changes nothing."
        ),
        request=s.OpportunityMoveSerializer,
        responses={200: s.OpportunitySerializer},
        examples=[
            OpenApiExample(
                "Lost", value={"stage": "lost", "lost_reason": "预算取消"}, request_only=True
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        opportunity = self.get_object()
        data = s.OpportunityMoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.move_opportunity(
            opportunity=opportunity,
            stage=data.validated_data["stage"],
            user=request.user,
            lost_reason=data.validated_data.get("lost_reason", ""),
        )
        return Response(s.OpportunitySerializer(self.get_queryset().get(pk=opportunity.pk)).data)
