"""The accounts area's import screens: accounts or contacts from a CSV/XLSX file, on the
crm's record-import screens (``crm.web.record_imports``): upload with a kind selector, column
mapping, dry run, the job with its progress, the templates with Chinese headers."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.imports import KINDS
from crm.web import record_imports

SCREENS = record_imports.RecordImportScreens(
    kinds=KINDS,
    upload_url="accounts:import",
    map_url="accounts:import-map",
    template_url="accounts:import-template",
    area=_("B2B accounts"),
)


@require_http_methods(["GET", "POST"])
@permission_required("accounts.add_account", raise_exception=True)
def account_import(request: HttpRequest) -> HttpResponse:
    return record_imports.upload(request, SCREENS)


@require_http_methods(["GET", "POST"])
@permission_required("accounts.add_account", raise_exception=True)
def account_import_map(request: HttpRequest, token: str) -> HttpResponse:
    return record_imports.map_columns(request, token, SCREENS)


@require_GET
@permission_required("accounts.add_account", raise_exception=True)
def account_import_template(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    return record_imports.template(request, kind, fmt, SCREENS)
