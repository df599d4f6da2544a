"""Notes staff write on a customer's 360 view: free text, pinned notes first."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length, Now
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.customers import Customer, staff_member

NOTE_MAX_LENGTH = 2000


class CustomerNote(models.Model):
    """A note on a customer. Group-wide like the customer (no business unit): whoever may
    view the customer reads it. Moves to the survivor of a merge."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="notes", verbose_name=_("customer")
    )
    text = models.TextField(_("note"), max_length=NOTE_MAX_LENGTH)
    author = staff_member(_("written by"))
    created_at = models.DateTimeField(_("written"), default=timezone.now, db_default=Now())
    pinned_at = models.DateTimeField(
        _("pinned"), null=True, blank=True, help_text=_("Pinned notes are shown first.")
    )

    class Meta:
        verbose_name = _("customer note")
        verbose_name_plural = _("customer notes")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                "customer", F("created_at").desc(), F("id").desc(), name="note_customer_recent"
            ),
            models.Index(
                "customer",
                F("pinned_at").desc(),
                name="note_customer_pinned",
                condition=Q(pinned_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="note_text_not_empty"),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("text"), NOTE_MAX_LENGTH),
                name="note_text_max_length",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def is_pinned(self) -> bool:
        return self.pinned_at is not None
