"""Accounts, contacts and opportunities for signed-in users of the web UI, per their
permissions and business units (outside them: 404). Closed to partner API keys (their
credit look-up comes with the credit profile)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
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
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.api import serializers as s
from accounts.models import Account, AccountStatus, Contact, Industry
from crm.api.base import ApiViewSet
from crm.api.permissions import IsAuthenticatedPrincipal, UserModelPermissions
from crm.models import BusinessUnit, Identity, IdentityType
from crm.policy import visible_unit_ids
from crm.services import IdentityInput


def caller_unit(user: Any, unit_id: int | None) -> BusinessUnit:
    """The caller's business unit named by ``unit_id`` (or their only one)."""
    allowed = visible_unit_ids(user)
    units = (
        BusinessUnit.objects.all()
        if allowed is None
        else BusinessUnit.objects.filter(pk__in=allowed)
    )
    if unit_id is not None:
        unit = units.filter(pk=unit_id).first()
        if unit is None:
            raise ValidationError({"business_unit": [_("Not one of your business units.")]})
        return unit
    mine = list(user.business_units.all()[:2])
    if len(mine) != 1:
        raise ValidationError({"business_unit": [_("Say which of your business units.")]})
    return mine[0]


def visible_account(user: Any, pk: int | None, field: str = "account") -> Account | None:
    if pk is None:
        return None
    account = Account.objects.visible_to(user).filter(pk=pk).first()
    if account is None:
        raise ValidationError({field: [_("No such account in your business units.")]})
    return account


ACCOUNT_EXAMPLE = OpenApiExample(
    "Account",
    value={
        "id": 12,
        "customer": 1024,
        "name": "星辰科技有限公司",
        "uscc": "91310000MA1FL8XQ30",
        "industry": "I",
        "size_band": "medium",
        "status": "active",
        "province": "上海",
        "city": "上海",
        "address": "浦东新区世纪大道100号",
        "website": "https://xingchen.example.com",
        "owner": 7,
        "business_units": [1],
        "parent": None,
        "created_at": "2026-12-01T09:00:00+08:00",
    },
    response_only=True,
)
ACCOUNT_CREATE_EXAMPLE = OpenApiExample(
    "New account",
    value={"uscc": "91310000MA1FL8XQ30", "name": "星辰科技有限公司", "industry": "I"},
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("Accounts in your business units"),
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=AccountStatus.values),
            OpenApiParameter("industry", OpenApiTypes.STR, enum=Industry.values),
            OpenApiParameter("owner", OpenApiTypes.INT),
            OpenApiParameter("business_unit", OpenApiTypes.INT),
            OpenApiParameter("q", OpenApiTypes.STR, description=gettext_lazy("Name contains")),
        ],
        examples=[ACCOUNT_EXAMPLE],
    ),
    retrieve=extend_schema(summary=gettext_lazy("One account"), examples=[ACCOUNT_EXAMPLE]),
    create=extend_schema(
        summary=gettext_lazy("Create an account (or find it by its USCC)"),
        description=gettext_lazy(
            "The organization is resolved against the customer master by its USCC: a known one "
            "is reused, and an existing account gains your unit (200). Owner and business "
            "units cannot be set here."
        ),
        request=s.AccountCreateSerializer,
        responses={201: s.AccountSerializer, 200: s.AccountSerializer},
        examples=[ACCOUNT_CREATE_EXAMPLE, ACCOUNT_EXAMPLE],
    ),
    partial_update=extend_schema(
        summary=gettext_lazy("Change an account's details"),
        request=s.AccountFieldsSerializer,
        responses={200: s.AccountSerializer},
        examples=[
            OpenApiExample("Status", value={"status": "active"}, request_only=True),
            ACCOUNT_EXAMPLE,
        ],
    ),
)
class AccountViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ApiViewSet
):
    serializer_class = s.AccountSerializer
    permission_classes = [IsAuthenticatedPrincipal, UserModelPermissions]
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Account.objects.none()

    def get_queryset(self) -> QuerySet[Account]:
        qs = (
            Account.objects.visible_to(self.request.user)
            .select_related("customer")
            .prefetch_related(
                "business_units",
                Prefetch(
                    "customer__identities",
                    queryset=Identity.objects.filter(type=IdentityType.USCC),
                ),
            )
        )
        params = self.request.query_params
        if self.action == "list":
            for key in ("status", "industry"):
                if params.get(key):
                    qs = qs.filter(**{key: params[key]})
            for key, lookup in (("owner", "owner_id"), ("business_unit", "business_units")):
                if params.get(key):
                    if not params[key].isdigit():
                        raise ValidationError({key: [_("Give a number.")]})
                    qs = qs.filter(**{lookup: int(params[key])})
            if params.get("q", "").strip():
                qs = qs.filter(customer__display_name__icontains=params["q"].strip()[:100])
        return qs

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.AccountCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        parent = visible_account(request.user, v.pop("parent", None), "parent")
        unit = caller_unit(request.user, v.pop("business_unit", None))
        result = services.create_account(
            uscc=v.pop("uscc"),
            name=v.pop("name"),
            user=request.user,
            business_unit=unit,
            fields=v,
        )
        if parent is not None:
            services.set_parent(account=result.account, parent=parent, user=request.user)
        account = self.get_queryset().get(pk=result.account.pk)
        return Response(
            s.AccountSerializer(account).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_object()
        data = s.AccountFieldsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        if "parent" in v:
            parent = visible_account(request.user, v.pop("parent"), "parent")
            services.set_parent(account=account, parent=parent, user=request.user)
        services.update_account(account=account, user=request.user, fields=v)
        return Response(s.AccountSerializer(self.get_queryset().get(pk=account.pk)).data)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("Contacts at accounts in your business units"),
        parameters=[OpenApiParameter("account", OpenApiTypes.INT)],
    ),
    retrieve=extend_schema(summary=gettext_lazy("One contact")),
    create=extend_schema(
        summary=gettext_lazy("Add a contact to an account"),
        description=gettext_lazy(
            "The person is found or created in the customer master by mobile phone or e-mail: "
            "the same person at two accounts is one customer."
        ),
        request=s.ContactCreateSerializer,
        responses={201: s.ContactSerializer},
        examples=[
            OpenApiExample(
                "New contact",
                value={
                    "account": 12,
                    "name": "李娜",
                    "mobile": "13800138000",
                    "roles": ["decision_maker"],
                    "title": "采购总监",
                    "is_primary": True,
                },
                request_only=True,
            )
        ],
    ),
    partial_update=extend_schema(
        summary=gettext_lazy("Change a contact's roles, title or primary flag; mark as left"),
        request=s.ContactUpdateSerializer,
        responses={200: s.ContactSerializer},
    ),
)
class ContactViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ApiViewSet
):
    serializer_class = s.ContactSerializer
    permission_classes = [IsAuthenticatedPrincipal, UserModelPermissions]
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Contact.objects.none()

    def get_queryset(self) -> QuerySet[Contact]:
        qs = (
            Contact.objects.visible_to(self.request.user)
            .select_related("person")
            .prefetch_related("roles")
            .order_by("-id")
        )
        account = self.request.query_params.get("account")
        if self.action == "list" and account:
            if not account.isdigit():
                raise ValidationError({"account": [_("Give a number.")]})
            qs = qs.filter(account_id=int(account))
        return qs

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.ContactCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        account = visible_account(request.user, v["account"])
        assert account is not None
        identities = [
            IdentityInput(t, v[t]) for t in (IdentityType.MOBILE, IdentityType.EMAIL) if v.get(t)
        ]
        contact = services.add_contact(
            account=account,
            identities=identities,
            name=v["name"],
            user=request.user,
            business_unit=account.business_units.filter(
                pk__in=BusinessUnit.objects.filter(users=request.user.pk).values("pk")
            ).first(),
            roles=v.get("roles", []),
            title=v.get("title", ""),
            department=v.get("department", ""),
            is_primary=v.get("is_primary", False),
        )
        return Response(
            s.ContactSerializer(self.get_queryset().get(pk=contact.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        data = s.ContactUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        left = v.pop("left", False)
        services.update_contact(contact=contact, user=request.user, **v)
        if left:
            services.contact_left(contact=contact, user=request.user)
        return Response(s.ContactSerializer(self.get_queryset().get(pk=contact.pk)).data)
