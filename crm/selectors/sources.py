"""The names of source systems (``pos`` → 门店收银 / Store POS), for every screen.

The table is small and changes rarely: its names are read once and kept in this process for
``TTL`` seconds (like Django's own content-type cache); the admin forgets them after an edit,
so the editing process shows the new name at once and the others within a minute. A code
without a row is shown as it is: ingestion never needs a row.
"""

from __future__ import annotations

import time
from typing import Any

from django.utils import translation

from crm.models import SourceSystem

TTL = 60.0
_cache: dict[str, Any] = {}


def source_names() -> dict[str, tuple[str, str]]:
    """``code -> (Chinese name, English name)`` for every named source system."""
    loaded = _cache.get("names")
    if loaded is None or time.monotonic() - _cache.get("at", 0.0) > TTL:
        loaded = {
            code: (zh, en)
            for code, zh, en in SourceSystem.objects.values_list("code", "name_zh", "name_en")
        }
        _cache.update(names=loaded, at=time.monotonic())
    return loaded


def forget_source_names() -> None:
    """Read the names again on next use (after an edit in the admin; between tests)."""
    _cache.clear()


def source_label(code: str | None, *, language: str | None = None) -> str:
    """The name of the source ``code`` in the language (the active one by default); the
    code itself when it has no name; ``""`` for no code."""
    if not code:
        return ""
    names = source_names().get(code)
    if names is None:
        return code
    lang = (language or translation.get_language() or "zh-hans").lower()
    return names[1] if lang.startswith("en") else names[0]


def readable_identity(text: str) -> str:
    """A masked identity as people read it: an external id's source by name
    (``online_retail:****47`` → ``线上商城 ****47``); anything else as it is."""
    source, sep, rest = text.partition(":")
    if sep and source in source_names():
        return f"{source_label(source)} {rest}"
    return text
