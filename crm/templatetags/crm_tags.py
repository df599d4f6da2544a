from __future__ import annotations

from django import template

from crm.roles import ROLE_LABELS

register = template.Library()


@register.filter
def role_label(name: str) -> str:
    """The translated label of a role (group) name; other group names as they are."""
    return str(ROLE_LABELS.get(name, name))
