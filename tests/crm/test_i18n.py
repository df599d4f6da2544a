"""Every interface string is translated; screens render fully in either language."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from crm.api.idempotency import fingerprint

PO = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_the_chinese_catalogue_is_complete():
    catalogue = polib.pofile(str(PO))
    assert [e.msgid for e in catalogue.untranslated_entries()] == []
    assert catalogue.fuzzy_entries() == []
    assert len(catalogue) > 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name",
    ["home", "business-unit-list", "job-list", "search", "password_change"],
)
def test_screens_show_no_english_interface_text_in_chinese(client, admin_user, url_name):
    client.force_login(admin_user)
    html = client.get(reverse(url_name)).content.decode()
    for english in ("Dashboard", "Business units", "Background jobs", "Sign out", "Search"):
        assert f">{english}<" not in html, f"{english!r} untranslated on {url_name}"


@pytest.mark.django_db
def test_time_zone_is_shanghai(client, admin_user):
    from django.utils import timezone

    assert settings.TIME_ZONE == "Asia/Shanghai"
    client.force_login(admin_user)
    client.get(reverse("home"))
    assert str(timezone.get_current_timezone()) == "Asia/Shanghai"


class _Req:
    """The parts of a DRF request that the fingerprint reads."""

    content_type = "application/json"

    def __init__(self, body: bytes, method: str = "POST", path: str = "/api/v1/x/") -> None:
        import json

        self.method, self.path = method, path
        self.data = json.loads(body)
        self._request = type("R", (), {"META": {}})()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.text(max_size=6), json_values, min_size=1, max_size=5))
def test_fingerprint_ignores_json_key_order(body):
    import json

    forward = json.dumps(body).encode()
    backward = json.dumps(dict(reversed(list(body.items())))).encode()
    assert fingerprint(_Req(forward)) == fingerprint(_Req(backward))


@given(json_values, json_values)
def test_fingerprint_tells_different_bodies_apart(a, b):
    import json

    same = json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    equal = fingerprint(_Req(json.dumps(a).encode())) == fingerprint(_Req(json.dumps(b).encode()))
    assert equal == same
