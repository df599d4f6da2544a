"""Django's database sessions, read by one prepared statement (``SESSION_ENGINE``).

Every signed-in request (each page, each htmx fragment, a rep's claim through the API) reads
its session first. Django's database backend reads it through the ORM, compiling
``Session.objects.get(session_key=…, expire_date__gt=now)`` each time: a fifth of an API call
made with a session. Here the same row is read by a statement prepared once per connection
(``crm.prepared.fetch_prepared``). Everything else (saving, expiry, cycling the key at
sign-in, clearing) is Django's own; the table and its rows are the same.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

from crm.prepared import fetch_prepared

_READ = (
    "SELECT session_data, expire_date FROM django_session "
    "WHERE session_key = %(key)s AND expire_date > %(now)s"
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Any:
        key = self.session_key
        row = fetch_prepared(_READ, {"key": key, "now": timezone.now()}) if key else None
        if row is None:
            self._session_key = None
            return None
        return self.model(session_key=key, session_data=row[0], expire_date=row[1])
