"""Source systems: the codes records arrive under (``pos``, ``online_retail``, ``import``)
with the names people read in both languages.

A code needs no row here: ingestion never looks this table up, and a code without a row is
shown as it is. Staff name codes in the admin; the screens read the names through
``crm.selectors.source_label``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
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
