from __future__ import annotations

from django import template

from crm.roles import ROLE_LABELS

register = template.Library()


@register.filter
def role_label(name: str) -> str:
    """The translated label of a role (group) name; other group names as they are."""
    return str(ROLE_LABELS.get(name, name))


@register.filter
def masked_phone(value: str | None) -> str:
    """``+8613800138000`` → ``138****8000``."""
    from crm.normalizers import mask_phone

    return mask_phone(value) if value else ""


@register.filter
def phone(value: str | None) -> str:
    """A stored E.164 number the way people read it (``138 0013 8000``)."""
    from crm.normalizers import display_phone

    return display_phone(value) if value else ""


@register.filter
def get_item(mapping: dict | None, key: str) -> object:
    return (mapping or {}).get(key)
