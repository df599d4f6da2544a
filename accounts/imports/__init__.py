"""Importing accounts and contacts from CSV/XLSX files on the shared import machinery
(``crm.imports.records``): see ``accounts.imports.accounts`` and ``.contacts`` for what a
row may create or change. ``register_importers`` runs from ``AccountsConfig.ready``."""

from __future__ import annotations

from accounts.imports.accounts import ACCOUNT_COLUMNS, ACCOUNT_IMPORTER
from accounts.imports.contacts import CONTACT_COLUMNS, CONTACT_IMPORTER
from crm.imports.record_jobs import get_importer, register_importer

KINDS = (ACCOUNT_IMPORTER.kind, CONTACT_IMPORTER.kind)


def register_importers() -> None:
    for importer in (ACCOUNT_IMPORTER, CONTACT_IMPORTER):
        register_importer(importer)


__all__ = [
    "ACCOUNT_COLUMNS",
    "CONTACT_COLUMNS",
    "KINDS",
    "get_importer",
    "register_importers",
]
