"""A user's own workspace: the list views they saved and the customers they opened lately."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.customers import Customer

SAVED_VIEW_NAME_MAX = 80
SAVED_VIEW_QUERY_MAX = 1000


class SavedView(models.Model):
    """A named filter of one list (``list_key``, e.g. ``crm.customers``) for one user: the
    list's query string, kept to the filter parameters the list declares
    (``crm.registry.register_list``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_views",
        verbose_name=_("user"),
    )
    list_key = models.CharField(_("list"), max_length=60)
    name = models.CharField(_("name"), max_length=SAVED_VIEW_NAME_MAX)
    query = models.CharField(
        _("filters"), max_length=SAVED_VIEW_QUERY_MAX, blank=True, db_default=""
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["list_key", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "list_key", "name"], name="saved_view_user_list_name_unique"
            ),
            models.CheckConstraint(condition=Q(name__regex=r"\S"), name="saved_view_name_given"),
        ]

    def __str__(self) -> str:
        return f"{self.list_key}: {self.name}"


class RecentView(models.Model):
    """The last time a user opened a customer's 360 view: one row per (user, customer),
    the last ``RECENT_VIEWS_KEPT`` per user (``services.record_recent_view``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="recent_views",
        verbose_name=_("user"),
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer")
    )
    viewed_at = models.DateTimeField(_("viewed"), default=timezone.now)

    class Meta:
        verbose_name = _("recently viewed customer")
        verbose_name_plural = _("recently viewed customers")
        constraints = [
            models.UniqueConstraint(fields=["user", "customer"], name="recent_view_user_customer")
        ]
        indexes = [
            models.Index(F("user"), F("viewed_at").desc(), name="recent_view_user_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.customer_id}"
