"""Source systems: the codes records arrive under (``pos``, ``online_retail``, ``import``)
with the names people read in both languages.

A code needs no row here: ingestion never looks this table up, and a code without a row is
shown as it is. Staff name codes in the admin; the screens read the names through
``crm.selectors.source_label``.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from crm.models.platform import BusinessUnit


class SourceSystem(models.Model):
    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        help_text=_("Exactly as records carry it (lower case), e.g. pos, online_retail."),
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business unit"),
        help_text=_("The unit that runs this system; empty when it serves the whole group."),
    )

    class Meta:
        verbose_name = _("source system")
        verbose_name_plural = _("source systems")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[a-z0-9][a-z0-9_.-]*$"), name="source_code_lower"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_zh} / {self.name_en} ({self.code})"


# --- Names for screens: read once, kept in this process for TTL seconds (a read cache,
# like Django's content types; the admin forgets them after an edit) ---------------------

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


def _app_name(code: str) -> Any:
    """The name of the project's app labelled ``code`` (an app's services write records under
    its label, e.g. ``accounts``), or ``None``."""
    return _app_names().get(code)


@lru_cache(maxsize=1)
def _app_names() -> dict[str, Any]:
    """The project's apps' names (lazy: translated when shown) by label, worked out once:
    ``project_apps()`` compares every installed app's path, and a code without a source
    system's row (``pos``, the bench's sources) asked for it on every timeline line
    (~0.2 ms a call, ten a 360 view)."""
    from crm.registry import project_apps

    return {c.label: c.verbose_name for c in project_apps()}


def source_label(code: str | None, *, language: str | None = None) -> str:
    """The name of the source ``code`` in the language (the active one by default): a named
    source system's, else the name of the project's app of that label; the code itself when
    it has no name; ``""`` for no code."""
    if not code:
        return ""
    names = source_names().get(code)
    if names is None:
        app = _app_name(code)
        if app is None:
            return code
        if language is None:
            return str(app)
        with translation.override(language):
            return str(app)
    lang = (language or translation.get_language() or "zh-hans").lower()
    return names[1] if lang.startswith("en") else names[0]


def readable_identity(text: str) -> str:
    """A masked identity as people read it: an external id's source by name
    (``online_retail:****47`` → ``线上商城 ****47``); anything else as it is."""
    source, sep, rest = text.partition(":")
    if sep and (name := source_label(source)) != source:
        return f"{name} {rest}"
    return text
