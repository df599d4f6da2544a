"""Security headers on every dynamic response; templates that a strict CSP can run; the API
documentation in the reader's language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse

from crm.middleware import SecurityHeadersMiddleware
from tests.conftest import key_client

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_security_headers(response) -> dict[str, list[str]]:
    csp = directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"][0] == "'self'"
    assert all(v == "'self'" or v.startswith("'nonce-") for v in csp["script-src"])
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["style-src-elem"]
    permissions = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in permissions
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    return csp


def test_a_page_with_personal_data_carries_every_header(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("customer-list"))
    assert response.status_code == 200
    assert_security_headers(response)
    assert response["X-Frame-Options"] == "DENY"


def test_an_api_response_carries_every_header(issue_key, unit_a):
    _, raw = issue_key(unit_a, ["business_units:read"])
    response = key_client(raw).get("/api/v1/me/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_an_api_error_is_not_stored_either(api):
    response = api.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert response["Cache-Control"] == "no-store"


def test_the_docs_page_runs_its_init_script_by_nonce(client):
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    csp = assert_security_headers(response)
    nonce = next(v for v in csp["script-src"] if v.startswith("'nonce-"))[7:-1]
    html = response.content.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline == [f' nonce="{nonce}"']
    assert "<style" not in html
    # A second request gets another nonce.
    assert nonce not in client.get(reverse("api-docs"))["Content-Security-Policy"]


def test_the_sign_in_page_is_not_stored(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert_security_headers(response)


def test_static_files_keep_their_caching(rf):
    # WhiteNoise answers static files before the middleware; Django serving them keeps it too.
    def cached(request):
        response = HttpResponse("body {}", content_type="text/css")
        response["Cache-Control"] = "max-age=31536000, public, immutable"
        return response

    middleware = SecurityHeadersMiddleware(cached)
    response = middleware(rf.get(settings.STATIC_URL + "css/crm.css"))
    assert response["Cache-Control"] == "max-age=31536000, public, immutable"
    assert middleware(rf.get("/customers/"))["Cache-Control"] == "no-store"


# --- Templates a strict policy can run ----------------------------------------------------

COMMENTS = re.compile(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.S)
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*?\son[a-z]+\s*=", re.I | re.S)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def project_templates() -> list[Path]:
    roots = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    for config in apps.get_app_configs():
        if Path(config.path).parent == Path(settings.BASE_DIR):  # the project's own apps
            roots.append(Path(config.path) / "templates")
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.html"))


def test_the_scan_sees_the_project_templates():
    names = {p.relative_to(settings.BASE_DIR).as_posix() for p in project_templates()}
    assert {"templates/base.html", "templates/crm/customers/detail.html"} <= names


@pytest.mark.parametrize(
    "path", project_templates(), ids=lambda p: p.relative_to(settings.BASE_DIR).as_posix()
)
def test_template_has_no_inline_script_without_nonce_and_no_event_handler(path):
    text = COMMENTS.sub("", path.read_text(encoding="utf-8"))
    for tag in SCRIPT_TAG.findall(text):
        external = re.search(r"\bsrc\s*=", tag)
        data = re.search(r"""\btype\s*=\s*["']application/(?:ld\+)?json["']""", tag)
        nonce = re.search(r"""\bnonce\s*=\s*["']{{\s*request\.csp_nonce\s*}}["']""", tag)
        assert external or data or nonce, f"inline {tag} without the CSP nonce"
    assert not EVENT_HANDLER.search(text), "inline on…= event handler (the CSP refuses it)"
    assert not JS_URL.search(text), "javascript: URL (the CSP refuses it)"


def test_the_scan_catches_what_it_looks_for():
    assert EVENT_HANDLER.search('<select name="x" onchange="this.form.submit()">')
    assert not EVENT_HANDLER.search('<div data-confirm="on=off" hx-on="x">')
    assert SCRIPT_TAG.findall("<script>alert(1)</script>") == ["<script>"]


# --- The API documentation: in the navigation, in the reader's language ------------------


def schema(client, **params) -> dict:
    response = client.get("/api/v1/schema/", {"format": "json", **params})
    assert response.status_code == 200
    return json.loads(response.content)


def summaries(document: dict) -> set[str]:
    return {op.get("summary") for path in document["paths"].values() for op in path.values()}


def test_schema_summaries_in_chinese_and_in_english(client):
    chinese = schema(client, lang="zh-hans")
    english = schema(client, lang="en")
    assert "按身份标识查找客户" in summaries(chinese)
    assert "Find customers by an identity" in summaries(english)
    assert "Find customers by an identity" not in summaries(chinese)
    lookup = chinese["paths"]["/api/v1/customers/"]["get"]["description"]
    assert lookup.startswith("只提供一个身份标识")


def test_the_docs_page_asks_for_the_schema_in_the_users_language(client, admin_user):
    client.force_login(admin_user)
    admin_user.language = "en"
    admin_user.save(update_fields=["language"])
    html = client.get(reverse("api-docs")).content.decode()
    assert r'url: "/api/v1/schema/?lang\u003Den"' in html  # escapejs
    admin_user.language = "zh-hans"
    admin_user.save(update_fields=["language"])
    html = client.get(reverse("api-docs")).content.decode()
    assert r'url: "/api/v1/schema/?lang\u003Dzh\u002Dhans"' in html
    assert "API 文档" in html


def test_the_docs_are_in_the_navigation_of_roles_that_manage_api_keys(client, admin_user, rep_a):
    client.force_login(admin_user)
    response = client.get(reverse("home"))
    assert "api-docs" in [i.key for i in response.context["nav_items"]]
    assert f'href="{reverse("api-docs")}"' in response.content.decode()
    client.force_login(rep_a)
    assert "api-docs" not in [i.key for i in client.get(reverse("home")).context["nav_items"]]
