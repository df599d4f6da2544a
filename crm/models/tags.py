"""Tags: categories, tags and the customers that carry them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from crm.models.customers import Customer, staff_member


class TagCategory(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)
    color = models.CharField(
        _("colour"),
        max_length=20,
        default="blue",
        help_text=_("A Tabler colour name: blue, green, orange, red, purple..."),
    )

    class Meta:
        verbose_name = _("tag category")
        verbose_name_plural = _("tag categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    category = models.ForeignKey(
        TagCategory, on_delete=models.PROTECT, related_name="tags", verbose_name=_("category")
    )
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(
        _("name (English)"),
        max_length=60,
        blank=True,
        db_default="",
        help_text=_("Shown instead of the name to users who read English; empty: the name."),
    )
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["category__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["category", "name"], name="tag_category_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.category.name}: {self.label}" if self.category_id else self.label

    @property
    def label(self) -> str:
        """The name in the reader's language (the English name, when there is one)."""
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


class CustomerTag(models.Model):
    """A tag on a customer: who (or which rule) set it, and when."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="tag_links", verbose_name=_("customer")
    )
    tag = models.ForeignKey(
        Tag, on_delete=models.CASCADE, related_name="customer_links", verbose_name=_("tag")
    )
    set_by = staff_member(_("set by"))
    rule = models.CharField(_("set by rule"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("set"), default=timezone.now)

    class Meta:
        verbose_name = _("customer tag")
        verbose_name_plural = _("customer tags")
        constraints = [
            models.UniqueConstraint(fields=["customer", "tag"], name="customer_tag_unique")
        ]
        indexes = [models.Index(fields=["tag", "customer"], name="customer_tag_by_tag")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.tag}"
