"""What the coupons API reads and answers."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from campaigns.models import REFERENCE_MAX, CouponKind, CouponStatus

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class CouponSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text=_("14 characters; the last one is a check character."))
    display_code = serializers.CharField(help_text=_("The code in groups of four, as printed."))
    customer = serializers.IntegerField(help_text=_("The owner's id on the customer master."))
    template = serializers.CharField(help_text=_("The template's name."))
    kind = serializers.ChoiceField(choices=CouponKind.choices)
    value = serializers.DecimalField(**AMOUNT)
    cap = serializers.DecimalField(**AMOUNT, allow_null=True)
    minimum_spend = serializers.DecimalField(**AMOUNT)
    face_value = serializers.DecimalField(**AMOUNT)
    issuing_business_unit = serializers.CharField()
    status = serializers.ChoiceField(choices=CouponStatus.choices)
    issued_at = serializers.DateTimeField()
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()
    redeemed_business_unit = serializers.CharField(allow_null=True)
    redeemed_at = serializers.DateTimeField(allow_null=True)
    redemption_reference = serializers.CharField(allow_null=True)
    discount = serializers.DecimalField(**AMOUNT, allow_null=True)


class CouponValidationSerializer(serializers.Serializer[Any]):
    valid = serializers.BooleanField()
    discount = serializers.DecimalField(**AMOUNT)
    order_amount = serializers.DecimalField(**AMOUNT)
    coupon = CouponSerializer()


class CouponRedeemInSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=40)
    reference = serializers.CharField(
        max_length=REFERENCE_MAX, help_text=_("Your order's id: one redemption per reference.")
    )
    order_amount = serializers.DecimalField(**AMOUNT, min_value=0)
    business_unit = serializers.CharField(
        required=False, help_text=_("Staff only: the unit's code (a key acts for its own unit).")
    )


class CouponReverseInSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=40)
    reference = serializers.CharField(
        max_length=REFERENCE_MAX, help_text=_("The refund's id: one reversal per reference.")
    )
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)
    business_unit = serializers.CharField(required=False)


class CouponRedemptionSerializer(serializers.Serializer[Any]):
    replayed = serializers.BooleanField(
        help_text=_("True when this reference had already redeemed this coupon here.")
    )
    discount = serializers.DecimalField(**AMOUNT)
    coupon = CouponSerializer()


class CouponReversalSerializer(serializers.Serializer[Any]):
    replayed = serializers.BooleanField()
    restored = serializers.BooleanField(
        help_text=_("True when the coupon was given back to the customer.")
    )
    reason = serializers.CharField(allow_blank=True)
    discount = serializers.DecimalField(**AMOUNT)
    coupon = CouponSerializer()
