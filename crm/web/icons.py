"""The icon component as a string, rendered once per name and class and kept.

The component is a long if/elif chain; the 360 view included it some fifty times (every
timeline event), a third of its rendering time. ``{% icon %}`` (crm.templatetags.crm_tags)
and the screens built in Python (crm.web.timeline_html) both read it from here."""

from __future__ import annotations

from functools import lru_cache

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe


@lru_cache(maxsize=512)
def icon_html(name: str, icon_class: str = "") -> SafeString:
    html = render_to_string("components/_icon_svg.html", {"name": name, "icon_class": icon_class})
    return mark_safe(html)  # noqa: S308  (our own template, rendered with autoescape)
