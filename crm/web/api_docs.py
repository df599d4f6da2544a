"""The API documentation page (Swagger UI), in the reader's language."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.plumbing import set_query_parameters
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.request import Request


class ApiDocsView(SpectacularSwaggerView):
    """Swagger UI whose schema request names the page's language (``?lang=``), so summaries
    and descriptions come in the language the user reads the CRM in, whatever the browser sends
    with the schema request. The page's init script carries the CSP nonce
    (templates/drf_spectacular/swagger_ui.html)."""

    url_name = "api:schema"
    title = _("API documentation")

    def _get_schema_url(self, request: Request) -> str:
        url = super()._get_schema_url(request)
        if request.GET.get("lang"):
            return url
        return set_query_parameters(url=url, lang=translation.get_language())


api_docs = ApiDocsView.as_view()
api_docs.login_required = False  # type: ignore[attr-defined]
