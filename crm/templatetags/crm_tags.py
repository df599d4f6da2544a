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


@register.simple_tag
def icon(name: str, icon_class: str = "") -> str:
    """``{% icon "phone" %}``: the icon component (``crm.web.icons``: rendered once per name
    and class and kept)."""
    from crm.web.icons import icon_html

    return icon_html(str(name), str(icon_class or ""))


@register.simple_tag
def money(amount: object, currency: str = "CNY") -> str:
    """``{% money amount currency %}``: ``¥1,234.50`` / ``CN¥1,234.50`` / ``£12.00``."""
    from crm.money import format_money

    return format_money(amount, str(currency or "CNY"))


@register.filter
def grouped(value: object) -> str:
    """``{{ n|grouped }}``: a whole number grouped as the language reads it (``10,000``)."""
    from crm.money import format_count

    return format_count(value)


@register.filter
def time_zone_label(name: str | None) -> str:
    """``{{ "Europe/London"|time_zone_label }}``: the zone's name in the active language with
    its IANA name (``伦敦（Europe/London）``); a zone not in the list as it is."""
    from crm.models.platform import TIME_ZONE_CHOICES

    return str(dict(TIME_ZONE_CHOICES).get(name or "", name or ""))


@register.filter
def import_column_label(column: str | None) -> str:
    """``{{ error.field|import_column_label }}``: an import column by its name (下单时间 for
    ``occurred_at``); a file's own header as it is."""
    from crm.imports.columns import column_label

    return column_label(column or "")


@register.filter
def source_label(code: str | None) -> str:
    """``{{ t.source|source_label }}``: the source system's name in the active language."""
    from crm.selectors.sources import source_label as label

    return label(code)


@register.simple_tag
def customer_name(customer: object) -> str:
    """``{% customer_name customer %}``: the name, or for a generated one (a masked
    identity) a styled "Unnamed customer" placeholder followed by that identity."""
    from crm.web.components import customer_name_html

    return customer_name_html(customer)


@register.simple_tag
def purchase_help() -> str:
    """What first and last purchase count (the tooltip of every screen that shows them)."""
    from crm.selectors.purchases import PURCHASE_HELP

    return str(PURCHASE_HELP)
