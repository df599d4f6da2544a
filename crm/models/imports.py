"""Saved column mappings of file imports: how a unit's files name their columns.

One mechanism for every importer (``kind`` says which: transactions today, accounts and
members later). A file whose headers have the same ``header_signature`` as a saved mapping of
its unit gets that mapping proposed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models.customers import staff_member
from crm.models.platform import TIME_ZONE_CHOICES, BusinessUnit
from crm.policy import ScopedQuerySet


class ImportMappingQuerySet(ScopedQuerySet["ImportMapping"]):
    def for_file(self, *, business_unit: BusinessUnit, kind: str) -> ImportMappingQuerySet:
        return self.filter(business_unit=business_unit, kind=kind)


class ImportMapping(models.Model):
    """``mapping`` is ``column -> header text`` as the file wrote it (matched again by the
    normalized header, so the columns may move between files)."""

    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.CASCADE,
        related_name="import_mappings",
        verbose_name=_("business unit"),
    )
    kind = models.CharField(
        _("import kind"),
        max_length=40,
        help_text=_("Which importer uses it, e.g. transactions."),
    )
    name = models.CharField(_("name"), max_length=80)
    header_signature = models.CharField(
        _("header signature"),
        max_length=64,
        db_index=True,
        help_text=_("A fingerprint of the file's header row, to recognise the same layout."),
    )
    mapping = models.JSONField(_("column mapping"), default=dict)
    decimal_mark = models.CharField(
        _("decimal mark"),
        max_length=1,
        choices=[(".", _("Decimal point (1,234.50)")), (",", _("Decimal comma (1.234,50)"))],
        default=".",
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, choices=TIME_ZONE_CHOICES, default="Asia/Shanghai"
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    created_by = staff_member(_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    scope_field: ClassVar[str] = "business_unit"
    objects = ImportMappingQuerySet.as_manager()

    class Meta:
        verbose_name = _("import column mapping")
        verbose_name_plural = _("import column mappings")
        ordering = ["business_unit", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_unit", "kind", "name"], name="import_mapping_name_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(decimal_mark__in=[".", ","]),
                name="import_mapping_decimal_mark_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def as_options(self) -> dict[str, Any]:
        return {
            "decimal_mark": self.decimal_mark,
            "time_zone": self.time_zone,
            "currency": self.currency,
        }
