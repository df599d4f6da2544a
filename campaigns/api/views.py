"""The coupons API for POS systems and online shops (BU-scoped keys) and staff sessions: a
customer's coupons, validate a code, redeem it (idempotent by ``Idempotency-Key`` and by the
unit's order reference), reverse a redemption on refund."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns import codes, services
from campaigns.api import serializers as s
from campaigns.models import Coupon, CouponStatus
from campaigns.selectors import customer_coupons
from crm.api.base import ApiViewSet
from crm.api.pagination import CursorPagination
from crm.api.permissions import IsAuthenticatedPrincipal
from crm.api.shared import represent, represent_many, validated
from crm.models import BusinessUnit
from crm.policy import visible_unit_ids
from members.api.docs import problems

REPLAY = gettext_lazy(
    "Two layers make a retry safe. (1) `Idempotency-Key` (every POST): the same key with the "
    "same body within 24 h replays the stored response; with another body it is 422. (2) Your "
    "unit's `reference` (the order id for a redemption, the refund id for a reversal): sent "
    "again with the same code and amount, the first redemption is answered (200, "
    "`replayed: true`; the first answered 201); with another code or amount it is 409 "
    "`reference_reused`. A coupon is redeemed at most once, whatever the number of tills "
    "trying at the same instant: the others get 409 `coupon_redeemed` naming when and where."
)

MALFORMED = ("coupon_code_malformed", "A coupon code has 14 characters …")
CHECK = ("coupon_check_failed", "This code contains a typo (its check character does not match).")
UNKNOWN = ("coupon_unknown", "No coupon has this code.")
REDEEMED = (
    "coupon_redeemed",
    "This coupon was already redeemed on 2026-12-07 10:15 at 星辰物业 (reference PF-1).",
)
EXPIRED = ("coupon_expired", "This coupon expired on 2026-12-31 23:59.")
NOT_YET = ("coupon_not_yet_valid", "This coupon is valid from 2027-01-01 00:00.")
NOT_HERE = ("not_redeemable_here", "This coupon cannot be redeemed in this business unit.")
BELOW = ("below_minimum_spend", "This coupon needs a minimum spend of 500.00; the order is 300.")
VOIDED = ("coupon_voided", "This coupon was voided on 2026-12-01 09:00 (issued by mistake).")
BLACKLISTED = ("customer_blacklisted", "This customer is blacklisted since 2026-11-02 (fraud).")
REUSED = ("reference_reused", "Reference “PF-1” already redeemed another coupon or amount here.")
NOT_REVERSIBLE = ("reversal_refused", "This coupon was not redeemed in this business unit.")
REFUSALS = (REDEEMED, EXPIRED, NOT_YET, NOT_HERE, BELOW, VOIDED, BLACKLISTED)

COUPON_EXAMPLE = {
    "code": "ARURJDP6D92P4D",
    "display_code": "ARUR-JDP6-D92P-4D",
    "customer": 1024,
    "template": "购车礼遇 · 物业费抵扣券 200 元",
    "kind": "fixed",
    "value": "200.00",
    "cap": None,
    "minimum_spend": "500.00",
    "face_value": "200.00",
    "issuing_business_unit": "AUTO",
    "status": "issued",
    "issued_at": "2026-12-07T10:00:00+08:00",
    "valid_from": "2026-12-07T10:00:00+08:00",
    "valid_until": "2027-03-07T10:00:00+08:00",
    "redeemed_business_unit": None,
    "redeemed_at": None,
    "redemption_reference": None,
    "discount": None,
}


_SHOWN = ("template", "business_unit", "redeemed_business_unit")  # what coupon_data reads


def coupon_data(coupon: Coupon) -> dict[str, Any]:
    template = coupon.template
    redeemed = coupon.redeemed_business_unit
    return {
        "code": coupon.code,
        "display_code": codes.display(coupon.code),
        "customer": coupon.customer_id,
        "template": template.name,
        "kind": template.kind,
        "value": template.value,
        "cap": template.cap,
        "minimum_spend": template.minimum_spend,
        "face_value": coupon.face_value,
        "issuing_business_unit": coupon.business_unit.code,
        "status": coupon.status,
        "issued_at": coupon.issued_at,
        "valid_from": coupon.valid_from,
        "valid_until": coupon.valid_until,
        "redeemed_business_unit": redeemed.code if redeemed else None,
        "redeemed_at": coupon.redeemed_at,
        "redemption_reference": coupon.redemption_reference,
        "discount": coupon.discount,
    }


class CouponPermission(BasePermission):
    """Staff: reading needs ``view_coupon``, redeeming and reversing ``redeem_coupon``; API
    keys pass by scope (``IsAuthenticatedPrincipal``)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(request.user, "api_key", None) is not None:
            return True
        needed = "campaigns.view_coupon" if request.method == "GET" else "campaigns.redeem_coupon"
        return bool(request.user.has_perm(needed))


def _example(name: str, value: dict[str, Any]) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True)


class CouponViewSet(ApiViewSet):
    """``/api/v1/campaigns/coupons/…``"""

    permission_classes = [IsAuthenticatedPrincipal, CouponPermission]
    required_scopes = {"GET": "coupons:read", "POST": "coupons:write"}
    serializer_class = s.CouponSerializer
    pagination_class = CursorPagination
    ordering = ("-issued_at", "-id")

    def get_queryset(self) -> QuerySet[Coupon]:
        return Coupon.objects.none()

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

    def _actor(self) -> Any:
        return None if getattr(self.request.user, "api_key", None) else self.request.user

    def _input(self, serializer_class: Any) -> dict[str, Any]:
        return validated(serializer_class, self.request.data)

    @extend_schema(
        summary=gettext_lazy("A customer's coupons, newest first"),
        description=gettext_lazy(
            "A partner key sees the coupons its unit issued or may redeem; staff those of "
            "their units."
        ),
        parameters=[
            OpenApiParameter("customer", int, required=True),
            OpenApiParameter("status", str, enum=CouponStatus.values, required=False),
        ],
        responses={200: s.CouponSerializer(many=True)},
    )
    def list(self, request: Request) -> Response:
        raw = request.query_params.get("customer", "").strip()
        if not raw.isdigit() or len(raw) > 18:
            raise ValidationError({"customer": [_("Give the customer's id.")]})
        wanted = request.query_params.get("status", "")
        if wanted and wanted not in CouponStatus.values:
            raise ValidationError(
                {"status": [_("Choose one of %(s)s.") % {"s": ", ".join(CouponStatus.values)}]}
            )
        rows = customer_coupons(int(raw), user=request.user, status=wanted)
        page = self.paginate_queryset(rows) or []
        return self.get_paginated_response(
            represent_many(s.CouponSerializer, [coupon_data(c) for c in page])
        )

    @extend_schema(
        summary=gettext_lazy("Validate a coupon code for an order"),
        description=gettext_lazy(
            "The discount the coupon gives on an order of `order_amount` in your unit, or the "
            "precise reason it cannot be used. A typo is refused from the check character, "
            "before any lookup. Nothing changes: redeem with POST …/redeem/."
        ),
        parameters=[
            OpenApiParameter("code", str, required=True),
            OpenApiParameter("order_amount", str, required=True, description="e.g. 800.00"),
            OpenApiParameter("business_unit", str, required=False),
        ],
        responses={
            200: s.CouponValidationSerializer,
            **problems(400, MALFORMED, CHECK),
            **problems(404, UNKNOWN),
            **problems(409, *REFUSALS),
        },
    )
    @action(detail=False, methods=["get"], url_path="validate")
    def validate(self, request: Request) -> Response:
        params = request.query_params
        raw_amount = params.get("order_amount", "").strip()
        try:
            amount = Decimal(raw_amount)
        except (InvalidOperation, ValueError) as exc:
            raise ValidationError({"order_amount": [_("Give the order amount.")]}) from exc
        unit = self._unit(params.get("business_unit"))
        found = services.validate_coupon(
            code=params.get("code", ""), business_unit=unit, order_amount=amount
        )
        body = {
            "valid": True,
            "discount": found.discount,
            "order_amount": found.order_amount,
            "coupon": coupon_data(found.coupon),
        }
        return Response(represent(s.CouponValidationSerializer, body))

    @extend_schema(
        summary=gettext_lazy("Redeem a coupon for an order (reference = your order id)"),
        description=REPLAY,
        request=s.CouponRedeemInSerializer,
        responses={
            201: s.CouponRedemptionSerializer,
            200: s.CouponRedemptionSerializer,
            **problems(400, MALFORMED, CHECK),
            **problems(404, UNKNOWN),
            **problems(409, *REFUSALS, REUSED),
        },
        examples=[
            _example(
                "At the till",
                {
                    "code": "ARUR-JDP6-D92P-4D",
                    "reference": "PF-20261207-1",
                    "order_amount": "800.00",
                },
            ),
        ],
    )
    @action(detail=False, methods=["post"], url_path="redeem")
    def redeem(self, request: Request) -> Response:
        data = self._input(s.CouponRedeemInSerializer)
        unit = self._unit(data.get("business_unit"))
        result = services.redeem_coupon(
            code=data["code"],
            business_unit=unit,
            reference=data["reference"],
            order_amount=data["order_amount"],
            actor=self._actor(),
        )
        coupon = result.coupon
        if not all(Coupon._meta.get_field(name).is_cached(coupon) for name in _SHOWN):
            coupon = Coupon.objects.select_related(*_SHOWN).get(pk=coupon.pk)
        body = {
            "replayed": result.replayed,
            "discount": result.discount,
            "coupon": coupon_data(coupon),
        }
        code = status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED
        return Response(represent(s.CouponRedemptionSerializer, body), status=code)

    @extend_schema(
        summary=gettext_lazy("Reverse a redemption on refund (reference = your refund id)"),
        description=gettext_lazy(
            "Records the refund of the order that redeemed the coupon in your unit. Within the "
            "template's refund window, a template marked “restored on refund” gives the coupon "
            "back to the customer (and the settlement is reversed); otherwise it stays used. "
            "The same refund reference again answers the first reversal (200, `replayed`)."
        ),
        request=s.CouponReverseInSerializer,
        responses={
            201: s.CouponReversalSerializer,
            200: s.CouponReversalSerializer,
            **problems(400, MALFORMED, CHECK),
            **problems(404, UNKNOWN),
            **problems(409, NOT_REVERSIBLE, REUSED),
        },
        examples=[_example("A refund", {"code": "ARURJDP6D92P4D", "reference": "RF-88"})],
    )
    @action(detail=False, methods=["post"], url_path="reverse")
    def reverse(self, request: Request) -> Response:
        data = self._input(s.CouponReverseInSerializer)
        unit = self._unit(data.get("business_unit"))
        result = services.reverse_redemption(
            code=data["code"],
            business_unit=unit,
            reference=data["reference"],
            reason=data.get("reason", ""),
            actor=self._actor(),
        )
        record = result.record
        coupon = Coupon.objects.select_related(
            "template", "business_unit", "redeemed_business_unit"
        ).get(pk=record.coupon_id)
        body = {
            "replayed": result.replayed,
            "restored": record.restored,
            "reason": record.reason,
            "discount": record.discount,
            "coupon": coupon_data(coupon),
        }
        code = status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED
        return Response(represent(s.CouponReversalSerializer, body), status=code)
