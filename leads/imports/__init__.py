"""Importing leads from CSV/XLSX files on the shared import machinery
(``crm.imports.records``): see ``leads.imports.leads``. ``register_importers`` runs from
``LeadsConfig.ready``."""

from __future__ import annotations

from crm.imports.record_jobs import register_importer
from leads.imports.leads import LEAD_COLUMNS, LEAD_IMPORTER

KINDS = (LEAD_IMPORTER.kind,)


def register_importers() -> None:
    register_importer(LEAD_IMPORTER)


__all__ = ["KINDS", "LEAD_COLUMNS", "LEAD_IMPORTER", "register_importers"]
