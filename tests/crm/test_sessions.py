"""Sessions read by one prepared statement (crm.sessions): the same sessions as Django's
database backend, expired and unknown keys reading as signed out."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.sessions import SessionStore


def test_the_engine_is_ours():
    assert settings.SESSION_ENGINE == "crm.sessions"


def test_a_signed_in_session_is_read_in_one_statement(rep_a):
    client = Client()
    client.force_login(rep_a, backend="crm.auth_backends.CrmModelBackend")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    store = SessionStore(session_key=key)
    with CaptureQueriesContext(connection) as queries:
        assert store["_auth_user_id"] == str(rep_a.pk)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SELECT"]
    assert "django_session" in queries.captured_queries[0]["sql"]
    assert client.get("/api/v1/me/").json()["username"] == rep_a.username


def test_expired_and_unknown_sessions_read_as_signed_out(rep_a):
    client = Client()
    client.force_login(rep_a, backend="crm.auth_backends.CrmModelBackend")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(1))
    store = SessionStore(session_key=key)
    assert store.load() == {}
    assert store.session_key is None  # a new key when it is saved, as Django does
    assert client.get("/api/v1/me/").status_code in (401, 403)
    unknown = SessionStore(session_key="x" * 32)
    assert unknown.load() == {} and unknown.session_key is None


def test_saving_and_reading_back_round_trips(db):
    store = SessionStore()
    store["basket"] = [1, 2, 3]
    store.save()
    again = SessionStore(session_key=store.session_key)
    assert again["basket"] == [1, 2, 3]
    again.flush()
    assert SessionStore(session_key=store.session_key).load() == {}
