"""The platform's own endpoints: who am I, business units, background jobs."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from crm import services
from crm.api.base import ApiView, ApiViewSet
from crm.api.permissions import IsAuthenticatedPrincipal, UserModelPermissions
from crm.api.serializers import BusinessUnitSerializer, JobSerializer, PrincipalSerializer
from crm.models import BusinessUnit, Job


class MeView(ApiView):
    """The caller: a signed-in user or a partner's API key, its business units and scopes."""

    required_scopes = {"GET": "business_units:read"}

    @extend_schema(
        responses=PrincipalSerializer,
        examples=[
            OpenApiExample(
                "API key",
                value={
                    "kind": "api_key",
                    "username": None,
                    "api_key": "Store POS",
                    "business_units": ["RETAIL"],
                    "scopes": ["business_units:read", "jobs:read"],
                    "language": "zh-hans",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        user = request.user
        api_key = getattr(user, "api_key", None)
        units = BusinessUnit.objects.visible_to(user)
        data = {
            "kind": "api_key" if api_key else "user",
            "username": None if api_key else user.get_username(),
            "api_key": api_key.name if api_key else None,
            "business_units": list(units.values_list("code", flat=True)),
            "scopes": list(api_key.scopes) if api_key else [],
            "language": get_language(),
        }
        return Response(PrincipalSerializer(data).data)


BU_EXAMPLE = OpenApiExample(
    "Business unit",
    value={
        "id": 3,
        "code": "RETAIL",
        "name": "华润万家超市",
        "industry": "retail",
        "is_active": True,
        "created_at": "2026-11-24T09:00:00+08:00",
    },
)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("List business units you can see"), examples=[BU_EXAMPLE]
    ),
    retrieve=extend_schema(summary=gettext_lazy("One business unit"), examples=[BU_EXAMPLE]),
    create=extend_schema(
        summary=gettext_lazy("Create a business unit (administrators)"),
        examples=[BU_EXAMPLE],
    ),
    partial_update=extend_schema(
        summary=gettext_lazy("Rename or deactivate a business unit (administrators)"),
        examples=[BU_EXAMPLE],
    ),
)
class BusinessUnitViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ApiViewSet,
):
    serializer_class = BusinessUnitSerializer
    permission_classes = [IsAuthenticatedPrincipal, UserModelPermissions]
    required_scopes = {"GET": "business_units:read"}
    filterset_fields = ["industry", "is_active", "code"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering = "code"

    def get_queryset(self) -> QuerySet[BusinessUnit]:
        return BusinessUnit.objects.visible_to(self.request.user).order_by("code")


JOB_EXAMPLE = OpenApiExample(
    "Running import",
    value={
        "id": "5b0b3d8e-6c39-4c65-9d0e-0f3c8a0b1a11",
        "kind": "crm.housekeeping",
        "label": "Housekeeping",
        "status": "running",
        "progress": 40,
        "message": "Purging finished jobs older than 90 days",
        "result": None,
        "error": "",
        "cancel_requested": False,
        "business_unit": "RETAIL",
        "created_at": "2026-11-24T09:00:00+08:00",
        "started_at": "2026-11-24T09:00:01+08:00",
        "finished_at": None,
    },
)


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Your background jobs"), examples=[JOB_EXAMPLE]),
    retrieve=extend_schema(
        summary=gettext_lazy("Status and progress of a job"), examples=[JOB_EXAMPLE]
    ),
)
class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = JobSerializer
    required_scopes = {"GET": "jobs:read", "POST": "jobs:write"}
    filterset_fields = ["status", "kind"]
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Job]:
        return Job.objects.visible_to(self.request.user).select_related("business_unit")

    @extend_schema(request=None, responses=JobSerializer, examples=[JOB_EXAMPLE])
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        """Ask a job to stop: a queued job is cancelled at once, a running one at its next step.

        Partners may cancel the jobs their key started; users their own, administrators any."""
        job = self.get_object()
        if not job.can_be_cancelled_by(request.user):
            raise PermissionDenied(_("You may not cancel this job."))
        job = services.request_job_cancel(job=job)
        return Response(JobSerializer(job).data)
