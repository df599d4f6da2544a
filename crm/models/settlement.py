"""The group's cross-unit settlement ledger, and the append-only base every ledger uses.

When value funded by one business unit is spent in another (points earned at the dealership
and redeemed at the supermarket, a coupon issued by one unit and redeemed at another), the
funding unit owes the redeeming one: one ``SettlementLine`` per such consumption, gathered
into a monthly ``SettlementStatement`` per (debtor, creditor) pair that is approved and then
marked settled. It lives in ``crm`` so that members and campaigns write to the same ledger.

Ledger rows are never updated or deleted: ``AppendOnlyModel`` refuses it in the ORM (save of
a stored row, delete, queryset update and delete), and each ledger table carries a database
trigger that refuses raw ``UPDATE``/``DELETE`` (see the migrations).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.platform import BusinessUnit
from crm.policy import ScopedQuerySet


class LedgerIsAppendOnly(Exception):
    """A ledger row was about to be changed or removed. Write a correcting entry instead."""


class AppendOnlyQuerySet(ScopedQuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise LedgerIsAppendOnly(f"{self.model.__name__} rows are never updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise LedgerIsAppendOnly(f"{self.model.__name__} rows are never deleted.")

    def _reassign(self, **kwargs: Any) -> int:
        """The one permitted change: who a row belongs to (``movable_fields``), used by a
        customer merge; the database trigger lets it through only while the transaction has
        set ``crm.ledger_reassign`` (``SET LOCAL``)."""
        allowed = set(getattr(self.model, "movable_fields", ()))
        if not kwargs or set(kwargs) - allowed:
            raise LedgerIsAppendOnly(f"Only {sorted(allowed)} of a ledger row may move.")
        return super().update(**kwargs)


class AppendOnlyModel(models.Model):
    movable_fields: ClassVar[tuple[str, ...]] = ()

    objects: Any = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise LedgerIsAppendOnly(f"{type(self).__name__} rows are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise LedgerIsAppendOnly(f"{type(self).__name__} rows are never deleted.")


def append_only_trigger_sql(table: str, movable: tuple[str, ...] = ()) -> tuple[str, str]:
    """``(forward, reverse)`` SQL of the trigger refusing ``UPDATE``/``DELETE`` on ``table``.
    An update that changes only ``movable`` columns passes while ``crm.ledger_reassign`` is
    ``on`` in the transaction (a merge moving rows to the survivor)."""
    strip = "".join(f" - '{column}'" for column in movable)
    function = f"{table}_append_only"
    forward = f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND coalesce(current_setting('crm.ledger_reassign', true), '') = 'on'
       AND (to_jsonb(NEW){strip}) = (to_jsonb(OLD){strip}) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {function} BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
"""
    reverse = f"DROP TRIGGER IF EXISTS {function} ON {table}; DROP FUNCTION IF EXISTS {function}();"
    return forward, reverse


class StatementStatus(models.TextChoices):
    OPEN = "open", _("Open")
    APPROVED = "approved", _("Approved")
    SETTLED = "settled", _("Settled")


class SettlementStatement(models.Model):
    """What ``debtor`` owes ``creditor`` for one month: the sum of its lines."""

    scope_field: ClassVar[str] = "debtor"

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    debtor = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        related_name="statements_owed",
        verbose_name=_("owing unit"),
    )
    creditor = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        related_name="statements_due",
        verbose_name=_("owed unit"),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=StatementStatus.choices,
        default=StatementStatus.OPEN,
        db_default=StatementStatus.OPEN,
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("marked settled by"),
    )
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("settlement statement")
        verbose_name_plural = _("settlement statements")
        ordering = ["-month", "debtor", "creditor"]
        permissions = [("approve_settlementstatement", "Can approve and settle statements")]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "debtor", "creditor"], name="statement_one_per_pair_and_month"
            ),
            models.CheckConstraint(
                condition=~Q(debtor=F("creditor")), name="statement_between_two_units"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="statement_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.debtor_id}→{self.creditor_id}"


class SettlementSource(models.TextChoices):
    POINTS = "points", _("Points redeemed")
    COUPON = "coupon", _("Coupon redeemed")


class SettlementLine(AppendOnlyModel):
    """``debtor`` owes ``creditor`` ``amount`` for one consumption of value it funded."""

    scope_field: ClassVar[str] = "debtor"

    statement = models.ForeignKey(
        SettlementStatement,
        on_delete=models.PROTECT,
        related_name="lines",
        verbose_name=_("statement"),
    )
    debtor = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owing unit"),
        db_index=False,
    )
    creditor = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owed unit"),
        db_index=False,
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY", db_default="CNY")
    points = models.IntegerField(_("points"), default=0, db_default=0)
    source_kind = models.CharField(_("source"), max_length=10, choices=SettlementSource.choices)
    source_reference = models.CharField(_("source reference"), max_length=120)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())

    class Meta:
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_kind", "source_reference"], name="settlement_line_source_once"
            ),
            models.CheckConstraint(
                condition=~Q(debtor=F("creditor")), name="settlement_line_between_two_units"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(points__gte=0), name="settlement_line_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["debtor", "creditor", "created_at"], name="settlement_line_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.debtor_id}→{self.creditor_id} {self.amount} {self.currency}"
