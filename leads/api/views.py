"""The leads API: a lead vendor's key (``leads:write``, scoped to its unit) submits leads, one
or a batch of up to 500 with a result per row, and reads the status of the leads its unit
submitted and nothing else; staff read the leads their roles let them see. POSTs are
idempotent by ``Idempotency-Key``; intake's own dedup makes a resubmitted lead no duplicate
even with a new key."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.text import format_lazy
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
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.base import ApiViewSet
from crm.api.pagination import CursorPagination
from crm.api.permissions import IsAuthenticatedPrincipal, UserModelPermissions
from crm.api.shared import represent, represent_many, validated
from crm.errors import DomainError
from crm.models import BusinessUnit
from crm.normalizers import mask_identity
from crm.policy import visible_unit_ids
from leads import services
from leads.api import serializers as s
from leads.api.docs import LEAD_EXAMPLE, ROUTING_DOC, SUBMIT_EXAMPLE
from leads.models import Lead, LeadPool, LeadSource, LeadStatus


def lead_data(lead: Lead, unit_codes: dict[int, str]) -> dict[str, Any]:
    return {
        "id": lead.pk,
        "status": lead.status,
        "kind": lead.kind,
        "name": lead.name,
        "company": lead.company,
        "phone": mask_identity("mobile", lead.phone) if lead.phone else "",
        "email": mask_identity("email", lead.email) if lead.email else "",
        "source": lead.source,
        "channel": lead.channel,
        "campaign_code": lead.campaign_code,
        "external_ref": lead.external_ref,
        "business_unit": unit_codes.get(lead.business_unit_id, ""),
        "existing_customer": lead.existing_customer,
        "quarantined": lead.quarantined,
        "lost_reason": lead.lost_reason,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "converted_at": lead.converted_at,
    }


def caller_unit(user: Any, unit_id: int | None) -> BusinessUnit:
    """A key's own unit; a staff member's unit named by ``unit_id`` (or their only one)."""
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        if unit_id is not None and unit_id != api_key.business_unit_id:
            raise ValidationError({"business_unit": [_("A key acts for its own unit only.")]})
        return api_key.business_unit
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


def to_input(data: dict[str, Any]) -> services.LeadInput:
    fields = {k: v for k, v in data.items() if k not in ("business_unit", "pool")}
    return services.LeadInput(**fields)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("Leads: a vendor key sees those its unit submitted"),
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=LeadStatus.values),
            OpenApiParameter("source", OpenApiTypes.STR, enum=LeadSource.values),
            OpenApiParameter(
                "external_ref", OpenApiTypes.STR, description=gettext_lazy("Your own id")
            ),
        ],
        examples=[LEAD_EXAMPLE],
    ),
    retrieve=extend_schema(
        summary=gettext_lazy("One lead and its status"), examples=[LEAD_EXAMPLE]
    ),
)
class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = s.LeadSerializer
    permission_classes = [IsAuthenticatedPrincipal, UserModelPermissions]
    required_scopes = {"GET": "leads:write", "POST": "leads:write"}
    pagination_class = CursorPagination
    ordering = ("-id",)
    http_method_names = ["get", "post", "head", "options"]
    queryset = Lead.objects.none()

    def get_queryset(self) -> QuerySet[Lead]:
        qs = Lead.objects.visible_to(self.request.user)
        params = self.request.query_params
        if self.action == "list":
            for key, choices in (("status", LeadStatus.values), ("source", LeadSource.values)):
                value = params.get(key, "")
                if value:
                    if value not in choices:
                        raise ValidationError(
                            {key: [_("Choose one of %(k)s.") % {"k": ", ".join(choices)}]}
                        )
                    qs = qs.filter(**{key: value})
            ref = params.get("external_ref", "").strip()
            if ref:
                qs = qs.filter(external_ref=ref[:80])
        return qs

    def _codes(self, leads: list[Lead]) -> dict[int, str]:
        ids = {lead.business_unit_id for lead in leads}
        return dict(BusinessUnit.objects.filter(pk__in=ids).values_list("pk", "code"))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = list(self.paginate_queryset(self.get_queryset()) or [])
        codes = self._codes(page)
        return self.get_paginated_response(
            represent_many(s.LeadSerializer, [lead_data(lead, codes) for lead in page])
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lead = self.get_object()
        return Response(represent(s.LeadSerializer, lead_data(lead, self._codes([lead]))))

    def _actor(self) -> Any:
        return None if getattr(self.request.user, "api_key", None) else self.request.user

    @extend_schema(
        summary=gettext_lazy("Submit a lead (idempotent)"),
        description=format_lazy(
            "{}\n\n{}",
            gettext_lazy(
                "The phone, e-mail and WeChat id are normalized and matched: a customer the "
                "group knows is linked (`existing_customer`); an open lead of your unit with "
                "the same identity gets a note instead of a second lead (200, `duplicate`); a "
                "blacklisted customer's lead is quarantined. An invalid phone or e-mail is "
                "refused (422, with the field) and nothing is stored."
            ),
            ROUTING_DOC,
        ),
        request=s.LeadInSerializer,
        responses={201: s.IntakeOutSerializer, 200: s.IntakeOutSerializer},
        examples=[SUBMIT_EXAMPLE],
    )
    def create(self, request: Request) -> Response:
        data = validated(s.LeadInSerializer, request.data)
        unit = caller_unit(request.user, data.get("business_unit"))
        result = services.intake_lead(
            business_unit=unit,
            data=to_input(data),
            actor=self._actor(),
            api_key=getattr(request.user, "api_key", None),
            pool=services.named_pool(unit, data["pool"]) if data.get("pool") else None,
        )
        body = {"outcome": result.outcome, "lead": lead_data(result.lead, {unit.pk: unit.code})}
        return Response(
            represent(s.IntakeOutSerializer, body),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    @extend_schema(
        summary=gettext_lazy("Submit up to 500 leads, with a result per row"),
        description=gettext_lazy(
            "Each row is taken in on its own: a refused row (its `error` names the field) does "
            "not stop the others. The answer lists every row by its index. Each row is routed "
            "as a single lead is (a `pool` named in the row overrides the rules)."
        ),
        request=s.LeadBatchInSerializer,
        responses={200: s.BatchOutSerializer},
        examples=[
            OpenApiExample(
                "Two leads",
                value={
                    "leads": [
                        {"name": "韩梅梅", "phone": "13800138000"},
                        {"name": "李雷", "phone": "12345"},
                    ]
                },
                request_only=True,
            )
        ],
    )
    @action(detail=False, methods=["post"], url_path="batch")
    def batch(self, request: Request) -> Response:
        incoming = s.LeadBatchInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        rows_in = incoming.validated_data["leads"]
        units = {row.get("business_unit") for row in rows_in}
        if len(units) > 1:
            raise ValidationError(
                {"leads": [_("Submit the leads of one business unit at a time.")]}
            )
        unit = caller_unit(request.user, units.pop())
        api_key = getattr(request.user, "api_key", None)
        rows: list[dict[str, Any]] = []
        counts = {"created": 0, "duplicates": 0, "errors": 0}
        codes = {unit.pk: unit.code}
        rules = services.routing_rules(unit)  # read once for the whole batch
        pools: dict[str, Any] = {}  # the pools rows name, each read once
        for index, row in enumerate(rows_in):
            try:
                name = row.get("pool", "")
                if name and name not in pools:
                    pools[name] = services.named_pool(unit, name)
                result = services.intake_lead(
                    business_unit=unit,
                    data=to_input(dict(row)),
                    actor=self._actor(),
                    api_key=api_key,
                    rules=rules,
                    pool=pools[name] if name else None,
                )
            except DomainError as exc:
                counts["errors"] += 1
                rows.append(
                    {
                        "index": index,
                        "outcome": "error",
                        "lead": None,
                        "error": {"code": exc.code, "field": exc.field, "message": exc.message},
                    }
                )
                continue
            counts["created" if result.created else "duplicates"] += 1
            rows.append(
                {
                    "index": index,
                    "outcome": result.outcome,
                    "lead": lead_data(result.lead, codes),
                    "error": None,
                }
            )
        return Response(represent(s.BatchOutSerializer, {**counts, "rows": rows}))

    # --- working leads: staff sessions only ---------------------------------------------

    def _staff(self) -> Any:
        if getattr(self.request.user, "api_key", None) is not None:
            raise PermissionDenied(_("Claiming and working leads is for staff, not API keys."))
        return self.request.user

    def _lead_body(self, lead: Lead) -> dict[str, Any]:
        lead = Lead.objects.get(pk=lead.pk)
        return lead_data(lead, self._codes([lead]))

    @extend_schema(
        summary=gettext_lazy("Claim this lead from its pool"),
        description=gettext_lazy(
            "Refusals (409) carry a precise code: `already_claimed`, `hold_limit_reached`, "
            "`daily_quota_reached`, `cooldown`, `quarantined`."
        ),
        request=None,
        responses={200: s.LeadSerializer},
    )
    @action(detail=True, methods=["post"], url_path="claim")
    def claim(self, request: Request, pk: str) -> Response:
        user = self._staff()
        lead = self.get_object()
        claimed = services.claim_lead(lead=lead, user=user)
        return Response(represent(s.LeadSerializer, self._lead_body(claimed)))

    @extend_schema(
        summary=gettext_lazy("Claim the pool's oldest unclaimed lead"),
        description=gettext_lazy(
            "Sixteen reps claiming at once each get a different lead; 409 `pool_empty` when "
            "none is left, `hold_limit_reached` or `daily_quota_reached` at your limits."
        ),
        request=s.ClaimNextInSerializer,
        responses={200: s.LeadSerializer},
    )
    @action(detail=False, methods=["post"], url_path="claim-next")
    def claim_next(self, request: Request) -> Response:
        user = self._staff()
        wanted = validated(s.ClaimNextInSerializer, request.data)
        pool = (
            LeadPool.objects.visible_to(user)
            .select_related("business_unit")
            .filter(pk=wanted["pool"])
            .first()
        )
        if pool is None:
            raise ValidationError({"pool": [_("No such pool in your business units.")]})
        lead = services.claim_next(pool=pool, user=user)
        # The claimed lead as written (claim_next read it whole under its lock): no re-read.
        codes = {pool.business_unit_id: pool.business_unit.code}
        return Response(represent(s.LeadSerializer, lead_data(lead, codes)))

    @extend_schema(
        summary=gettext_lazy("Record a follow-up of a lead you hold"),
        description=gettext_lazy(
            "409 `lead_not_held` when the lead is not (or no longer) yours: it may have gone "
            "back to the pool a moment ago."
        ),
        request=s.FollowUpInSerializer,
        responses={201: s.FollowUpOutSerializer},
    )
    @action(detail=True, methods=["post"], url_path="follow-ups")
    def follow_up(self, request: Request, pk: str) -> Response:
        user = self._staff()
        lead = self.get_object()
        follow_up = services.log_follow_up(
            lead=lead, user=user, **validated(s.FollowUpInSerializer, request.data)
        )
        body = {
            "id": follow_up.pk,
            "kind": follow_up.kind,
            "outcome": follow_up.outcome,
            "occurred_at": follow_up.occurred_at,
            "next_action_at": follow_up.next_action_at,
            "lead": self._lead_body(lead),
        }
        return Response(represent(s.FollowUpOutSerializer, body), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary=gettext_lazy("Convert a qualified lead"),
        description=gettext_lazy(
            "A company lead becomes an account (by its USCC) with the person as a contact and "
            "an opportunity; a person lead becomes a member. The customer the lead matched is "
            "reused. 409 `customer_blacklisted` with the reason, `invalid_transition` when the "
            "lead is not qualified."
        ),
        request=s.ConvertInSerializer,
        responses={200: s.ConvertOutSerializer},
    )
    @action(detail=True, methods=["post"], url_path="convert")
    def convert(self, request: Request, pk: str) -> Response:
        user = self._staff()
        lead = self.get_object()
        result = services.convert_lead(
            lead=lead, user=user, **validated(s.ConvertInSerializer, request.data)
        )
        body = {
            "lead": self._lead_body(lead),
            "customer": result.customer.pk,
            "account": getattr(result.account, "pk", None),
            "contact": getattr(result.contact, "pk", None),
            "opportunity": getattr(result.opportunity, "pk", None),
            "member": getattr(result.member, "number", None),
        }
        return Response(represent(s.ConvertOutSerializer, body))
