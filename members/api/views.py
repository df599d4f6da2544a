"""The members API for POS systems and online shops (BU-scoped keys) and staff sessions:
look a member up, enrol, read balance and level, earn for an order, redeem, reverse a
cancelled order, list entries. POSTs are idempotent twice over (see ``docs.REPLAY``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.base import ApiViewSet
from crm.api.pagination import CursorPagination
from crm.api.permissions import IsAuthenticatedPrincipal, UserModelPermissions
from crm.api.shared import represent, represent_many, validated
from crm.models import BusinessUnit
from crm.normalizers import InvalidIdentity, normalize_phone
from crm.policy import visible_unit_ids
from crm.services import IdentityInput
from members import services
from members.api import docs
from members.api import serializers as s
from members.api.qr import is_signed_qr, number_from_signed_qr
from members.errors import NotAMember
from members.models import EntryKind, Member, PointsEntry
from members.selectors import member_by_number, member_by_qr, member_summary
from members.services import PointsResult


def OpenApiExample_(name: str, value: dict[str, Any]) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True)


MEMBER_PARAM = OpenApiParameter("member", str, OpenApiParameter.PATH, description=docs.MEMBER_PATH)


def member_data(member: Member) -> dict[str, Any]:
    summary = member_summary(member)
    progress = summary.progress

    def level(value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        return {
            "code": value.code,
            "name": value.name,
            "rank": value.rank,
            "multiplier": value.multiplier,
        }

    return {
        "number": member.number,
        "qr_value": member.qr_value,
        "status": member.status,
        "customer": member.customer_id,
        "enrolled_business_unit": member.enrolled_business_unit.code,
        "channel": member.channel,
        "enrolled_at": member.enrolled_at,
        "level": level(member.level),
        "progress": {
            "next_level": level(progress.next_level),
            "measure": progress.measure,
            "needed": progress.needed,
            "percent": progress.percent,
        },
        "balance": summary.balance,
        "expiring_points": summary.expiring_points,
        "expiring_before": summary.expiring_before,
    }


def entry_data(entry: PointsEntry, unit_codes: dict[int, str]) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "points": entry.points,
        "unrecovered": entry.unrecovered,
        "business_unit": unit_codes.get(entry.business_unit_id, ""),
        "reference": entry.reference,
        "order_reference": entry.order_reference,
        "reason": entry.reason,
        "created_at": entry.created_at,
    }


class MemberViewSet(ApiViewSet):
    """``/api/v1/members/…``: the member path parameter is a number or a QR value."""

    permission_classes = [IsAuthenticatedPrincipal, UserModelPermissions]
    required_scopes = {"GET": "members:read", "POST": "members:write"}
    lookup_field = "member"
    lookup_value_regex = "[^/]+"
    serializer_class = s.MemberSerializer
    pagination_class = None
    ordering = ("-id",)

    def get_queryset(self) -> QuerySet[Member]:
        return Member.objects.visible_to(self.request.user)

    # --- resolving the member and the unit ---------------------------------------------

    def _member(self, key: str, *, lean: bool = False) -> Member:
        """The member of a number or QR value; ``lean``: only its id (the points services
        lock and read the member themselves)."""
        key = (key or "").strip()
        member = None
        if is_signed_qr(key):
            number = number_from_signed_qr(key)
            member = member_by_number(number, lean=lean) if number else None
            if number is None:
                raise NotAMember(
                    _("This QR code is invalid or expired: ask the member to refresh it.")
                )
        elif ":" in key:
            member = member_by_qr(key, user=self.request.user, lean=lean)
        else:
            member = member_by_number(key, user=self.request.user, lean=lean)
        if member is None:
            raise NotAMember(_("No such member."))
        return member

    def _unit(self, code: str | None) -> BusinessUnit:
        api_key = getattr(self.request.user, "api_key", None)
        if api_key is not None:
            if code and BusinessUnit.normalize_code(code) != api_key.business_unit.code:
                raise ValidationError({"business_unit": [_("A key acts for its own unit only.")]})
            return api_key.business_unit
        visible = visible_unit_ids(self.request.user)
        units = BusinessUnit.objects.all()
        if visible is not None:
            units = units.filter(pk__in=visible)
        unit = None
        if code:
            unit = units.filter(code=BusinessUnit.normalize_code(code)).first()
        elif visible is not None and len(visible) == 1:
            unit = units.first()
        if unit is None:
            raise ValidationError(
                {"business_unit": [_("Give the code of a business unit you belong to.")]}
            )
        return unit

    def _result(self, result: PointsResult, unit: BusinessUnit) -> Response:
        codes = {unit.pk: unit.code}
        body = {
            "member": result.member.number,
            "replayed": result.replayed,
            "points": result.points,
            "balance": result.balance,
            "entries": [entry_data(e, codes) for e in result.entries],
        }
        code = status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED
        return Response(represent(s.PointsResultSerializer, body), status=code)

    def _input(self, serializer_class: Any) -> dict[str, Any]:
        return validated(serializer_class, self.request.data)

    # --- reads ---------------------------------------------------------------------------

    @extend_schema(
        summary=_("Look up a member by phone, member number or QR value"),
        description=_(
            "Give exactly one of `phone`, `number` or `qr`. A partner key finds the members "
            "its unit enrolled or served (and anyone showing a signed QR value)."
        ),
        parameters=[
            OpenApiParameter("phone", str, required=False),
            OpenApiParameter("number", str, required=False),
            OpenApiParameter("qr", str, required=False),
        ],
        responses={200: s.MemberSerializer, **docs.problems(404, docs.NOT_A_MEMBER)},
        examples=[docs.MEMBER_EXAMPLE],
    )
    @action(detail=False, methods=["get"], url_path="lookup")
    def lookup(self, request: Request) -> Response:
        given = {k: request.query_params.get(k, "").strip() for k in ("phone", "number", "qr")}
        given = {k: v for k, v in given.items() if v}
        if len(given) != 1:
            raise ValidationError(
                {"non_field_errors": [_("Give exactly one of phone, number or qr.")]}
            )
        ((kind, value),) = given.items()
        if kind == "phone":
            try:
                phone = normalize_phone(value)
            except InvalidIdentity as exc:
                raise ValidationError({"phone": [str(exc)]}) from exc
            member = (
                self.get_queryset()
                .live()
                .select_related("customer", "level", "enrolled_business_unit")
                .filter(customer__identities__type="mobile", customer__identities__value=phone)
                .first()
            )
            if member is None:
                raise NotAMember(_("No member has this phone."))
        else:
            member = self._member(value)
        return Response(represent(s.MemberSerializer, member_data(member)))

    @extend_schema(
        summary=_("A member's balance, level and points expiring soon"),
        parameters=[MEMBER_PARAM],
        responses={200: s.MemberSerializer, **docs.problems(404, docs.NOT_A_MEMBER)},
        examples=[docs.MEMBER_EXAMPLE],
    )
    def retrieve(self, request: Request, member: str) -> Response:
        return Response(represent(s.MemberSerializer, member_data(self._member(member))))

    @extend_schema(
        summary=_("A member's points entries in your units, newest first"),
        parameters=[
            MEMBER_PARAM,
            OpenApiParameter("kind", str, enum=EntryKind.values, required=False),
        ],
        responses={200: s.EntrySerializer(many=True)},
    )
    @action(detail=True, methods=["get"], url_path="entries", pagination_class=CursorPagination)
    def entries(self, request: Request, member: str) -> Response:
        found = self._member(member)
        kind = request.query_params.get("kind", "")
        if kind and kind not in EntryKind.values:
            raise ValidationError(
                {"kind": [_("Choose one of %(k)s.") % {"k": ", ".join(EntryKind.values)}]}
            )
        rows = PointsEntry.objects.visible_to(request.user).filter(member=found)
        if kind:
            rows = rows.filter(kind=kind)
        page = self.paginate_queryset(rows.select_related("business_unit")) or []
        codes = {e.business_unit_id: e.business_unit.code for e in page}
        return self.get_paginated_response(
            represent_many(s.EntrySerializer, [entry_data(e, codes) for e in page])
        )

    # --- writes --------------------------------------------------------------------------

    @extend_schema(
        summary=_("Enrol a customer by phone (idempotent)"),
        description=_(
            "The customer is found on the customer master by phone, or created. A customer "
            "who is already a member gets the existing membership back (200; 201 when "
            "enrolled now). A blacklisted customer is refused (409 `customer_blacklisted`)."
        ),
        request=s.EnrolInSerializer,
        responses={
            201: s.MemberSerializer,
            200: s.MemberSerializer,
            **docs.problems(409, docs.BLACKLISTED),
        },
        examples=[
            docs.MEMBER_EXAMPLE,
            OpenApiExample_(
                "Enrol at the store",
                {"phone": "138 0013 8000", "name": "王伟", "channel": "store"},
            ),
        ],
    )
    @action(detail=False, methods=["post"], url_path="enrol")
    def enrol(self, request: Request) -> Response:
        data = self._input(s.EnrolInSerializer)
        unit = self._unit(data.get("business_unit"))
        name = (data.get("name") or "").strip()
        enrolment = services.enrol_member(
            business_unit=unit,
            channel=data["channel"],
            identities=[IdentityInput("mobile", data["phone"])],
            attributes={"display_name": name} if name else {},
            actor=None if getattr(request.user, "api_key", None) else request.user,
        )
        member = Member.objects.select_related("customer", "level", "enrolled_business_unit").get(
            pk=enrolment.member.pk
        )
        code = status.HTTP_201_CREATED if enrolment.created else status.HTTP_200_OK
        return Response(represent(s.MemberSerializer, member_data(member)), status=code)

    @extend_schema(
        summary=_("Earn points for an order (reference = the order id)"),
        description=docs.REPLAY,
        parameters=[MEMBER_PARAM],
        request=s.EarnInSerializer,
        responses={
            201: s.PointsResultSerializer,
            200: s.PointsResultSerializer,
            **docs.problems(404, docs.NOT_A_MEMBER),
            **docs.problems(409, docs.FROZEN, docs.BLACKLISTED, docs.REUSED, docs.NO_RULE),
        },
        examples=[
            docs.RESULT_EXAMPLE,
            OpenApiExample_("An order", {"reference": "SO-1001", "amount": "268.00"}),
        ],
    )
    @action(detail=True, methods=["post"], url_path="earn")
    def earn(self, request: Request, member: str) -> Response:
        data = self._input(s.EarnInSerializer)
        unit = self._unit(data.get("business_unit"))
        result = services.earn_points(
            member=self._member(member, lean=True),
            business_unit=unit,
            reference=data["reference"],
            amount=data["amount"],
            occurred_at=data.get("occurred_at") or timezone.now(),
            actor=self._actor(),
        )
        return self._result(result, unit)

    @extend_schema(
        summary=_("Redeem points (reference = your redemption id)"),
        description=docs.REPLAY,
        parameters=[MEMBER_PARAM],
        request=s.RedeemInSerializer,
        responses={
            201: s.PointsResultSerializer,
            200: s.PointsResultSerializer,
            **docs.problems(404, docs.NOT_A_MEMBER),
            **docs.problems(409, docs.INSUFFICIENT, docs.FROZEN, docs.BLACKLISTED, docs.REUSED),
        },
        examples=[OpenApiExample_("A redemption", {"reference": "RD-77", "points": 500})],
    )
    @action(detail=True, methods=["post"], url_path="redeem")
    def redeem(self, request: Request, member: str) -> Response:
        data = self._input(s.RedeemInSerializer)
        unit = self._unit(data.get("business_unit"))
        result = services.redeem_points(
            member=self._member(member, lean=True),
            business_unit=unit,
            points=data["points"],
            reference=data["reference"],
            reason=data.get("reason", ""),
            actor=self._actor(),
        )
        return self._result(result, unit)

    @extend_schema(
        summary=_("Reverse the points of a cancelled order"),
        description=_(
            "Takes back what the order earned (or `points` of it for a partial refund), from "
            "what is left of that order's own points first; points the member already spent "
            "are recorded as an `uncollectable` entry (the balance never goes below zero). "
        )
        + str(docs.REPLAY),
        parameters=[MEMBER_PARAM],
        request=s.ReverseInSerializer,
        responses={
            201: s.PointsResultSerializer,
            200: s.PointsResultSerializer,
            **docs.problems(404, docs.NOT_A_MEMBER),
        },
        examples=[OpenApiExample_("A cancellation", {"order_reference": "SO-1001"})],
    )
    @action(detail=True, methods=["post"], url_path="reverse")
    def reverse(self, request: Request, member: str) -> Response:
        data = self._input(s.ReverseInSerializer)
        unit = self._unit(data.get("business_unit"))
        result = services.reverse_order(
            member=self._member(member, lean=True),
            business_unit=unit,
            order_reference=data["order_reference"],
            reference=data.get("reference", ""),
            points=data.get("points"),
            reason=data.get("reason", ""),
            actor=self._actor(),
        )
        return self._result(result, unit)

    def _actor(self) -> Any:
        return None if getattr(self.request.user, "api_key", None) else self.request.user
