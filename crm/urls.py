"""URLs: the web shell, the apps' screens, the admin, and the REST API under ``/api/v1/``."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults

from crm.api.exceptions import api_not_found, api_server_error
from crm.registry import web_routes
from crm.web.api_docs import api_docs
from crm.web.forms import LoginForm

urlpatterns = [
    # First: resolved on every partner request, which would otherwise try (and fail) each web
    # route before it.
    path("api/v1/", include(("crm.api.urls", "api"), namespace="api")),
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("", include("django.contrib.auth.urls")),
    path("", include("crm.web.urls")),
    path("imports/", include("crm.web.import_urls")),
    path("segments/", include("crm.web.segment_urls")),
    *web_routes(),
    path("admin/", admin.site.urls),
    path("api/docs/", api_docs, name="api-docs"),
]


@login_not_required
def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


@login_not_required
def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return defaults.server_error(request)
