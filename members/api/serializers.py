"""What the members API reads and answers."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from members.models import EnrolmentChannel, EntryKind


class LevelSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    rank = serializers.IntegerField()
    multiplier = serializers.DecimalField(max_digits=4, decimal_places=2)


class ProgressSerializer(serializers.Serializer[Any]):
    next_level = LevelSerializer(allow_null=True)
    measure = serializers.DecimalField(max_digits=14, decimal_places=2)
    needed = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text=_("Still missing to reach the next level.")
    )
    percent = serializers.IntegerField(min_value=0, max_value=100)


class MemberSerializer(serializers.Serializer[Any]):
    number = serializers.CharField(help_text=_("The member number: 10 digits, Luhn check digit."))
    qr_value = serializers.CharField(help_text=_("What the membership card's QR code holds."))
    status = serializers.ChoiceField(choices=["active", "frozen", "closed"])
    customer = serializers.IntegerField(help_text=_("The customer's id on the customer master."))
    enrolled_business_unit = serializers.CharField()
    channel = serializers.ChoiceField(choices=EnrolmentChannel.choices)
    enrolled_at = serializers.DateTimeField()
    level = LevelSerializer(allow_null=True)
    progress = ProgressSerializer()
    balance = serializers.IntegerField(min_value=0)
    expiring_points = serializers.IntegerField(
        min_value=0, help_text=_("Points that expire within 30 days.")
    )
    expiring_before = serializers.DateTimeField()


class EntrySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=EntryKind.choices)
    points = serializers.IntegerField(help_text=_("The change of the balance."))
    unrecovered = serializers.IntegerField(
        help_text=_("For an uncollectable entry: points already spent, not taken back.")
    )
    business_unit = serializers.CharField()
    reference = serializers.CharField(allow_blank=True)
    order_reference = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class PointsResultSerializer(serializers.Serializer[Any]):
    member = serializers.CharField(help_text=_("The member number."))
    replayed = serializers.BooleanField(
        help_text=_("True: this (unit, reference) was applied before; nothing changed now.")
    )
    points = serializers.IntegerField(help_text=_("The change of the balance by these entries."))
    balance = serializers.IntegerField(min_value=0)
    entries = EntrySerializer(many=True)


class UnitField(serializers.SlugField):
    pass


class EnrolInSerializer(serializers.Serializer[Any]):
    phone = serializers.CharField(max_length=40, help_text=_("The customer's mobile phone."))
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=EnrolmentChannel.choices)
    business_unit = UnitField(
        required=False, help_text=_("Unit code; an API key's own unit by default.")
    )


class EarnInSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField(max_length=112, help_text=_("The order id."))
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    occurred_at = serializers.DateTimeField(required=False)
    business_unit = UnitField(required=False)


class RedeemInSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField(max_length=112, help_text=_("Your redemption's id."))
    points = serializers.IntegerField(min_value=1, max_value=100_000_000)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)
    business_unit = UnitField(required=False)


class ReverseInSerializer(serializers.Serializer[Any]):
    order_reference = serializers.CharField(
        max_length=112, help_text=_("The id of the order that earned the points.")
    )
    reference = serializers.CharField(
        max_length=112,
        required=False,
        allow_blank=True,
        help_text=_("The cancellation's own id (default: the order id)."),
    )
    points = serializers.IntegerField(
        min_value=1,
        max_value=100_000_000,
        required=False,
        help_text=_("For a partial refund; default: everything the order earned."),
    )
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)
    business_unit = UnitField(required=False)
