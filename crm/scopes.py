"""API key scopes: crm declares its own; each app adds its own in ``AppConfig.api_scopes``."""

from __future__ import annotations

from django.apps import apps
from django.utils.translation import gettext_lazy as _

CRM_SCOPES = {
    "business_units:read": _("Read business units"),
    "jobs:read": _("Read the status of background jobs"),
    "jobs:write": _("Cancel background jobs"),
    "customers:read": _("Look up customers by phone, e-mail or other identity"),
    "transactions:read": _("Read the transactions of the key's business unit"),
    "transactions:write": _("Push orders and cancellations"),
    "segments:read": _("Count and read the members of segments (those the key's unit knows)"),
}


def known_scopes() -> dict[str, object]:
    merged: dict[str, object] = dict(CRM_SCOPES)
    for config in apps.get_app_configs():
        merged.update(getattr(config, "api_scopes", {}))
    return merged
