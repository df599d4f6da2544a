"""People at accounts, in roles from an admin-edited list."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from crm.policy import ScopedQuerySet


class ContactRole(models.Model):
    """A role a contact plays (decision maker, purchaser…), named in both languages."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60)
    position = models.PositiveSmallIntegerField(_("order"), default=100, db_default=100)
    is_active = models.BooleanField(_("active"), default=True, db_default=True)

    class Meta:
        verbose_name = _("contact role")
        verbose_name_plural = _("contact roles")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


class ContactQuerySet(ScopedQuerySet["Contact"]):
    def active(self) -> ContactQuerySet:
        return self.filter(left_on__isnull=True)


class Contact(models.Model):
    """A person customer working at an account."""

    scope_field: ClassVar[str] = "account__business_units"
    scope_many: ClassVar[bool] = True

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="contacts",
        verbose_name=_("account"),
    )
    person = models.ForeignKey(
        "crm.Customer",
        on_delete=models.PROTECT,
        related_name="contact_positions",
        verbose_name=_("person"),
        db_index=False,  # accounts_contact_person_acct below (it covers the account too)
    )
    roles = models.ManyToManyField(
        ContactRole, related_name="contacts", blank=True, verbose_name=_("roles")
    )
    title = models.CharField(_("title"), max_length=100, blank=True, db_default="")
    department = models.CharField(_("department"), max_length=100, blank=True, db_default="")
    is_primary = models.BooleanField(_("primary contact"), default=False, db_default=False)
    left_on = models.DateField(
        _("left on"), null=True, blank=True, help_text=_("Empty while the person works there.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_default=Now())

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "department", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "person"], name="accounts_contact_once"),
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(is_primary=True),
                name="accounts_contact_one_primary",
            ),
            models.CheckConstraint(
                condition=Q(is_primary=False) | Q(left_on__isnull=True),
                name="accounts_contact_primary_is_active",
            ),
        ]
        # A person's accounts straight from the index (the account list's search by a
        # contact's phone probes it for each of the ~2,000 matching identities: no visit to
        # the table, half the pages read); the foreign key's own index was its duplicate.
        indexes = [
            models.Index(
                fields=["person"], include=["account"], name="accounts_contact_person_acct"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person.display_name} @ {self.account}"

    @property
    def is_active(self) -> bool:
        return self.left_on is None
