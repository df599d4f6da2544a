"""What the leads API reads and answers. Identities are answered masked, as everywhere."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from leads.models import FollowUpKind, FollowUpOutcome, LeadKind, LeadSource, LeadStatus
from members.models import EnrolmentChannel

BATCH_LIMIT = 500


class LeadInSerializer(serializers.Serializer[Any]):
    """One lead as a vendor or a form submits it. Identities as typed: they are normalized
    (an invalid one is refused naming its field)."""

    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(
        choices=LeadKind.choices,
        required=False,
        help_text=_("Person or company; a lead with a company name is a company by default."),
    )
    title = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    wechat = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    region = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    industry = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    source = serializers.ChoiceField(
        choices=LeadSource.choices, required=False, default=LeadSource.PARTNER_API
    )
    channel = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    campaign_code = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default=""
    )
    score = serializers.IntegerField(min_value=0, max_value=100, required=False, default=0)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    external_ref = serializers.CharField(
        max_length=80,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Your own id of the lead, returned in every answer."),
    )
    business_unit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text=_("Staff in several units: which one. A partner key submits for its own unit."),
    )
    pool = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text=_(
            "An active pool of the unit, by name: the lead goes there and the routing rules "
            "are not applied. Empty: the unit's routing rules decide (see the endpoint)."
        ),
    )


class LeadBatchInSerializer(serializers.Serializer[Any]):
    leads = LeadInSerializer(many=True, allow_empty=False, max_length=BATCH_LIMIT)


class LeadSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=LeadStatus.choices)
    kind = serializers.ChoiceField(choices=LeadKind.choices)
    name = serializers.CharField(allow_blank=True)
    company = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True, help_text=_("Masked."))
    email = serializers.CharField(allow_blank=True, help_text=_("Masked."))
    source = serializers.ChoiceField(choices=LeadSource.choices)
    channel = serializers.CharField(allow_blank=True)
    campaign_code = serializers.CharField(allow_blank=True)
    external_ref = serializers.CharField(allow_blank=True)
    business_unit = serializers.CharField(help_text=_("The unit's code."))
    existing_customer = serializers.BooleanField(
        help_text=_("The group already knew this customer.")
    )
    quarantined = serializers.BooleanField()
    lost_reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    converted_at = serializers.DateTimeField(allow_null=True)


class IntakeOutSerializer(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(
        choices=["created", "existing_customer", "quarantined", "duplicate"],
        help_text=_(
            "`duplicate`: an open lead of your unit has this phone, e-mail or WeChat id: no "
            "second lead was made (200)."
        ),
    )
    lead = LeadSerializer()


class RowErrorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class BatchRowSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField(min_value=0)
    outcome = serializers.ChoiceField(
        choices=["created", "existing_customer", "quarantined", "duplicate", "error"]
    )
    lead = LeadSerializer(allow_null=True)
    error = RowErrorSerializer(allow_null=True)


class BatchOutSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField(min_value=0)
    duplicates = serializers.IntegerField(min_value=0)
    errors = serializers.IntegerField(min_value=0)
    rows = BatchRowSerializer(many=True)


class ClaimNextInSerializer(serializers.Serializer[Any]):
    pool = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class FollowUpInSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=FollowUpKind.choices)
    outcome = serializers.ChoiceField(
        choices=FollowUpOutcome.choices, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    next_step = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    next_action_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class FollowUpOutSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=FollowUpKind.choices)
    outcome = serializers.CharField(allow_blank=True)
    occurred_at = serializers.DateTimeField()
    next_action_at = serializers.DateTimeField(allow_null=True)
    lead = LeadSerializer()


class ConvertInSerializer(serializers.Serializer[Any]):
    uscc = serializers.CharField(
        max_length=30,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("A company lead: its unified social credit code (for the account)."),
    )
    opportunity_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, default=0
    )
    member_channel = serializers.ChoiceField(
        choices=EnrolmentChannel.choices, required=False, default=EnrolmentChannel.STORE
    )


class ConvertOutSerializer(serializers.Serializer[Any]):
    lead = LeadSerializer()
    customer = serializers.IntegerField()
    account = serializers.IntegerField(allow_null=True)
    contact = serializers.IntegerField(allow_null=True)
    opportunity = serializers.IntegerField(allow_null=True)
    member = serializers.CharField(allow_null=True, help_text=_("The member number."))
