"""Segments for campaigns and partners: list them, count their members (now, or as they were
on the first day after a past month's metrics snapshot), read the members.

Staff need the permission to view segments; an API key needs the scope ``segments:read``
and reads only the members its own unit knows (customers with a transaction in its unit),
by id: never a name or identity another unit recorded."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors
from crm.api.base import ApiViewSet
from crm.api.customers import partner_unit
from crm.api.permissions import IsAuthenticatedPrincipal, UserModelPermissions
from crm.models import Customer, Segment, SegmentMode
from crm.rules import validate_rule


class SegmentSerializer(serializers.ModelSerializer[Segment]):
    rule = serializers.JSONField(
        help_text=gettext_lazy("The rule in the JSON rule language (all/any/not, conditions).")
    )

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "mode", "rule", "created_at", "updated_at"]


class SegmentCountSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField(help_text=gettext_lazy("How many members."))
    mode = serializers.ChoiceField(choices=SegmentMode.choices)
    as_of = serializers.DateTimeField(
        help_text=gettext_lazy("When the members were determined: now, or the snapshot's time.")
    )


class SegmentCountAsOfSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField(
        help_text=gettext_lazy("How many customers the segment's rule matched that day.")
    )
    month = serializers.DateField(help_text=gettext_lazy("The snapshot's month (its first day)."))
    day = serializers.DateField(
        help_text=gettext_lazy(
            "The day the count shows, from its first instant: the day after the snapshot's "
            "reference date (February's snapshot: 1 March)."
        )
    )
    as_of = serializers.DateField(
        help_text=gettext_lazy("The reference date the snapshot's figures were computed as of.")
    )


MONTH_PARAMETER = OpenApiParameter(
    "month",
    OpenApiTypes.STR,
    required=True,
    description=gettext_lazy(
        "A month with a metrics snapshot, YYYY-MM (404 `no_metrics_snapshot` for any other)."
    ),
)

COUNT_AS_OF_EXAMPLE = OpenApiExample(
    "As it was on 1 March",
    value={"count": 1532, "month": "2026-02-01", "day": "2026-03-01", "as_of": "2026-02-28"},
    response_only=True,
)


class SegmentMemberSerializer(serializers.ModelSerializer[Customer]):
    display_name = serializers.SerializerMethodField(
        help_text=gettext_lazy("Null for API keys: other units recorded it.")
    )

    class Meta:
        model = Customer
        fields = ["id", "kind", "display_name"]

    def get_display_name(self, obj: Customer) -> str | None:
        if self.context.get("partner_unit") is not None:
            return None
        return obj.shown_name


SEGMENT_EXAMPLE = OpenApiExample(
    "Segment",
    value={
        "id": 7,
        "name": "近90天购车未缴物业费",
        "description": "",
        "mode": "live",
        "rule": {
            "all": [
                {"field": "purchases.units", "op": "has_any", "value": [1], "params": {"days": 90}},
                {"field": "purchases.units", "op": "has_none", "value": [2]},
            ]
        },
        "created_at": "2026-12-01T09:00:00+08:00",
        "updated_at": "2026-12-01T09:00:00+08:00",
    },
    response_only=True,
)


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Segments"), examples=[SEGMENT_EXAMPLE]),
    retrieve=extend_schema(summary=gettext_lazy("One segment"), examples=[SEGMENT_EXAMPLE]),
)
class SegmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = SegmentSerializer
    permission_classes = [IsAuthenticatedPrincipal, UserModelPermissions]
    required_scopes = {"GET": "segments:read"}
    ordering = "-pk"

    def get_queryset(self) -> QuerySet[Segment]:
        return Segment.objects.all()

    def _members(self, segment: Segment) -> QuerySet[Customer]:
        customers = selectors.segment_customers(segment)
        if partner_unit(self.request.user) is not None:
            customers = customers.filter(
                pk__in=Customer.objects.visible_to(self.request.user).values("pk")
            )
        return customers

    @extend_schema(
        summary=gettext_lazy("How many members a segment has"),
        description=gettext_lazy(
            "A live segment is counted now; a frozen one gives its snapshot's members. API "
            "keys count only the members their unit knows."
        ),
        responses=SegmentCountSerializer,
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def count(self, request: Request, pk: Any = None) -> Response:
        segment = self.get_object()
        snapshot = selectors.latest_snapshot(segment) if segment.is_frozen else None
        if snapshot is not None and partner_unit(request.user) is None:
            count, as_of = snapshot.member_count, snapshot.taken_at
        else:
            count = self._members(segment).count()
            as_of = snapshot.taken_at if snapshot is not None else timezone.now()
        data = {"count": count, "mode": segment.mode, "as_of": as_of}
        return Response(SegmentCountSerializer(data).data)

    @extend_schema(
        summary=gettext_lazy("How many members a segment had after a past month"),
        description=gettext_lazy(
            "The segment's current rule evaluated as of the first day after the month's metrics "
            'snapshot (crm/METRICS.md, "Segments as of a past month"): its metrics fields read '
            "that month's snapshot, its purchase fields the transactions before that day. A "
            "rule with a field that keeps no history is refused (400 `rule_invalid`, naming "
            "it). Staff count the customers as they were then (two merged since count as "
            "two); API keys count only the members their unit knows now."
        ),
        parameters=[MONTH_PARAMETER],
        responses=SegmentCountAsOfSerializer,
        examples=[COUNT_AS_OF_EXAMPLE],
    )
    @action(detail=True, methods=["get"], url_path="count-as-of", pagination_class=None)
    def count_as_of(self, request: Request, pk: Any = None) -> Response:
        segment = self.get_object()
        past = selectors.metrics_snapshot_month(request.query_params.get("month", ""))
        rule = validate_rule(segment.rule, past=True)
        if partner_unit(request.user) is None:
            count = selectors.count_rule_as_of(rule, past, validated=True)
        else:
            count = (
                selectors.rule_customers_as_of(rule, past, validated=True)
                .filter(pk__in=Customer.objects.visible_to(request.user).values("pk"))
                .count()
            )
        data = {"count": count, "month": past.month, "day": past.day, "as_of": past.as_of}
        return Response(SegmentCountAsOfSerializer(data).data)

    @extend_schema(
        summary=gettext_lazy("A segment's members"),
        description=gettext_lazy(
            "Newest customers first, by cursor. API keys read only the members their unit "
            "knows, by id."
        ),
        responses=SegmentMemberSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def members(self, request: Request, pk: Any = None) -> Response:
        segment = self.get_object()
        page = self.paginate_queryset(self._members(segment).order_by("-pk"))
        context = {**self.get_serializer_context(), "partner_unit": partner_unit(request.user)}
        data = SegmentMemberSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)
