"""Transactions: what customers bought and cancelled, per business unit and source."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.customers import Customer
from crm.models.platform import BusinessUnit
from crm.policy import ScopedQuerySet


class Channel(models.TextChoices):
    STORE = "store", _("Store")
    ONLINE_MALL = "online_mall", _("Online mall")
    TMALL = "tmall", _("Tmall")
    JD = "jd", _("JD.com")
    WECHAT_MINI = "wechat_mini", _("WeChat mini-program")
    ERP = "erp", _("ERP")
    PHONE = "phone", _("Phone order")
    OTHER = "other", _("Other")


class TransactionKind(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    CANCELLATION = "cancellation", _("Cancellation / refund")


class TransactionStatus(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    PARTLY_REFUNDED = "partly_refunded", _("Partly refunded")
    REFUNDED = "refunded", _("Cancelled / refunded")


# A purchase, for first/last purchase, frequency, recency and every metric: a completed order
# (not cancelled or refunded as a whole) with a positive amount. A zero-amount order (a gift,
# a free service) is not a purchase; cancellations and refunds count only in net spend.
COMPLETED_PURCHASE = Q(kind=TransactionKind.PURCHASE, amount__gt=0) & ~Q(
    status=TransactionStatus.REFUNDED
)


class TransactionQuerySet(ScopedQuerySet["Transaction"]):
    def purchases(self) -> TransactionQuerySet:
        """Completed purchases: what first/last purchase and every metric count (one
        definition: ``COMPLETED_PURCHASE``)."""
        return self.filter(COMPLETED_PURCHASE)


class Transaction(models.Model):
    """An order from any source. A cancellation is its own row with a negative amount,
    linked to the original when it is known, so that the sum of amounts is the net spend."""

    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        related_name="transactions",
        verbose_name=_("business unit"),
        db_index=False,  # transaction_unit_recent leads with it
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transactions",
        verbose_name=_("customer"),
        help_text=_("Empty for a guest purchase."),
        db_index=False,  # transaction_customer_recent leads with it
    )
    source = models.CharField(_("source system"), max_length=40)
    external_id = models.CharField(_("external id"), max_length=100)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    kind = models.CharField(
        _("kind"),
        max_length=12,
        choices=TransactionKind.choices,
        default=TransactionKind.PURCHASE,
        db_default=TransactionKind.PURCHASE,
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=TransactionStatus.choices,
        default=TransactionStatus.COMPLETED,
        db_default=TransactionStatus.COMPLETED,
    )
    original = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cancellations",
        verbose_name=_("original transaction"),
        db_index=False,  # transaction_original: partial, only cancellations have one
    )
    # The order a cancellation names, as the source wrote it: kept while that order is not
    # stored (linked when it arrives) and after, as the source said it.
    original_external_id = models.CharField(
        _("original order id"), max_length=100, blank=True, default="", db_default=""
    )
    occurred_at = models.DateTimeField(_("occurred"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY", db_default="CNY")
    lines = models.JSONField(_("lines"), default=list, db_default=[], blank=True)
    ingested_at = models.DateTimeField(_("ingested"), default=timezone.now, db_default=Now())

    objects = TransactionQuerySet.as_manager()

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="transaction_source_external_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind="purchase", amount__gte=0) | Q(kind="cancellation", amount__lte=0),
                name="transaction_amount_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(original__isnull=True) | Q(kind="cancellation"),
                name="transaction_only_cancellations_link_original",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="transaction_currency_iso"
            ),
        ]
        indexes = [
            models.Index(
                "customer",
                F("occurred_at").desc(),
                F("id").desc(),
                name="transaction_customer_recent",
            ),
            # Covering: the 360 view's per-unit totals and first/last purchase (which need
            # kind, status and amount: ``crm.selectors.purchases``) and the list's last
            # purchase are index-only scans.
            models.Index(
                fields=["customer", "business_unit"],
                include=["occurred_at", "amount", "kind", "status", "currency"],
                name="transaction_customer_totals",
                condition=Q(customer__isnull=False),
            ),
            models.Index(
                fields=["original"],
                name="transaction_original",
                condition=Q(original__isnull=False),
            ),
            models.Index(fields=["business_unit", "-occurred_at"], name="transaction_unit_recent"),
            # Cancellations waiting for their original (found when the original arrives).
            models.Index(
                fields=["source", "original_external_id"],
                name="transaction_waiting_original",
                condition=Q(original__isnull=True, kind="cancellation")
                & ~Q(original_external_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"
