"""Sign-in, lockout, password change and reset, session settings, per-user language."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_renders_in_chinese_by_default(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    assert "登录" in response.content.decode()


def test_sign_in_and_out(client, rep_a):
    response = client.post(reverse("login"), {"username": "rep_a", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_lockout_after_repeated_failures(client, rep_a):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("login"), {"username": "rep_a", "password": "wrong"})
        assert response.status_code == 200
    last_try = client.post(reverse("login"), {"username": "rep_a", "password": "wrong"})
    assert last_try.status_code == 429
    locked = client.post(reverse("login"), {"username": "rep_a", "password": PASSWORD})
    assert locked.status_code == 429  # even the right password is refused while locked
    assert "locked" in locked.content.decode().lower() or "锁定" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302


def test_password_change(client, rep_a):
    client.force_login(rep_a)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-Secret-2026",
            "new_password2": "a-new-Secret-2026",
        },
    )
    assert response.status_code == 302
    rep_a.refresh_from_db()
    assert rep_a.check_password("a-new-Secret-2026")


def test_password_reset_sends_a_link_by_email(client, rep_a):
    response = client.post(reverse("password_reset"), {"email": rep_a.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/reset/" in mail.outbox[0].body
    assert mail.outbox[0].to == [rep_a.email]


def test_password_reset_for_an_unknown_address_reveals_nothing(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and len(mail.outbox) == 0


def test_switching_language_is_kept_per_user(client, rep_a):
    client.force_login(rep_a)
    assert "仪表盘" in client.get(reverse("home")).content.decode()
    response = client.post(reverse("switch-language"), {"language": "en", "next": reverse("home")})
    assert response.status_code == 302
    rep_a.refresh_from_db()
    assert rep_a.language == "en"
    page = client.get(reverse("home"))
    assert page["Content-Language"] == "en"
    assert "Dashboard" in page.content.decode()
    # a new session (another browser) gets the user's saved language
    client.logout()
    client.cookies.clear()
    client.force_login(rep_a)
    assert "Dashboard" in client.get(reverse("home")).content.decode()


def test_switch_rejects_unknown_languages_and_foreign_redirects(client, rep_a):
    client.force_login(rep_a)
    response = client.post(
        reverse("switch-language"), {"language": "fr", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("home")
    rep_a.refresh_from_db()
    assert rep_a.language == ""  # unchanged: no preference yet


def test_language_chosen_before_sign_in_is_kept(client, rep_a):
    client.post(reverse("switch-language"), {"language": "en", "next": reverse("login")})
    assert "Sign in" in client.get(reverse("login")).content.decode()
    client.post(reverse("login"), {"username": "rep_a", "password": PASSWORD})
    assert "Dashboard" in client.get(reverse("home")).content.decode()


def test_client_address_behind_a_trusted_proxy(rf, settings):
    from crm.middleware import client_ip

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.9"  # what the proxy saw; the spoofed entry is ignored
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"


def test_session_cookie_is_http_only_and_short_lived():
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
