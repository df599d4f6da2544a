"""Importing members from CSV/XLSX files on the shared import machinery
(``crm.imports.records``): see ``members.imports.members`` for what a row may create or
change. ``register_importers`` runs from ``MembersConfig.ready``."""

from __future__ import annotations

from crm.imports.record_jobs import register_importer
from members.imports.members import MEMBER_COLUMNS, MEMBER_IMPORTER

KINDS = (MEMBER_IMPORTER.kind,)


def register_importers() -> None:
    register_importer(MEMBER_IMPORTER)


__all__ = ["KINDS", "MEMBER_COLUMNS", "MEMBER_IMPORTER", "register_importers"]
