"""The desk's import screen: members (with their level and opening points balance) from a
CSV/XLSX file, on the crm's record-import screens (``crm.web.record_imports``): upload,
column mapping, dry run, the job with its progress, the template with Chinese headers."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from crm.web import record_imports
from members.imports import KINDS, MEMBER_IMPORTER

SCREENS = record_imports.RecordImportScreens(
    kinds=KINDS,
    upload_url="members:import",
    map_url="members:import-map",
    template_url="members:import-template",
    area=_("B2C members"),
)
PERMISSIONS = MEMBER_IMPORTER.permissions


@require_http_methods(["GET", "POST"])
@permission_required(PERMISSIONS, raise_exception=True)
def member_import(request: HttpRequest) -> HttpResponse:
    return record_imports.upload(request, SCREENS)


@require_http_methods(["GET", "POST"])
@permission_required(PERMISSIONS, raise_exception=True)
def member_import_map(request: HttpRequest, token: str) -> HttpResponse:
    return record_imports.map_columns(request, token, SCREENS)


@require_GET
@permission_required(PERMISSIONS, raise_exception=True)
def member_import_template(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    return record_imports.template(request, kind, fmt, SCREENS)
