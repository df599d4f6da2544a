"""The monthly rollup of coupon results that the group overview reads (campaigns/ROLLUP.md).

Two kinds of cell, months in the group's zone (``settings.TIME_ZONE``):
- an issue cell (``redeemed_month`` empty): the coupons of a template issued in a month, by
  the unit that issued them, whatever became of them;
- a redemption cell: the coupons of a template issued in ``issued_month`` and redeemed (and
  still redeemed) in ``redeemed_month`` at ``redeemed_business_unit``: how many, the discount
  and the order amounts.

The template is a dimension, not its currency or funding shares: those are read from the
template when the overview is shown, so editing them needs no recompute. The cells are
rewritten by ``campaigns.services.rollup.refresh_rollup`` (a job), never on the redemption
path; a change to a month the job would not look at leaves a :class:`CouponRollupMark`.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.models.coupons import MONEY, CouponTemplate
from crm.models import BusinessUnit

ROLLUP_MONEY = {**MONEY, "max_digits": 18}


class CouponMonthRollup(models.Model):
    template = models.ForeignKey(
        CouponTemplate, on_delete=models.CASCADE, related_name="+", verbose_name=_("template")
    )
    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("issuing unit"),
        db_index=False,
    )
    issued_month = models.DateField(_("month of issue"))
    redeemed_month = models.DateField(_("month of redemption"), null=True, blank=True)
    redeemed_business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("redeemed at"),
        db_index=False,
    )
    issued = models.PositiveIntegerField(_("issued"), default=0, db_default=0)
    redeemed = models.PositiveIntegerField(_("redeemed"), default=0, db_default=0)
    discount = models.DecimalField(_("discount"), **ROLLUP_MONEY, default=0, db_default=0)
    revenue = models.DecimalField(_("revenue"), **ROLLUP_MONEY, default=0, db_default=0)

    class Meta:
        verbose_name = _("coupon results rollup")
        verbose_name_plural = _("coupon results rollup")
        ordering = ["issued_month", "redeemed_month", "template"]
        constraints = [
            models.CheckConstraint(
                condition=Q(redeemed_month__isnull=True, redeemed_business_unit__isnull=True)
                | Q(redeemed_month__isnull=False, redeemed_business_unit__isnull=False),
                name="coupon_rollup_cell_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["issued_month"], name="coupon_rollup_issued"),
            models.Index(fields=["redeemed_month"], name="coupon_rollup_redeemed"),
        ]

    def __str__(self) -> str:
        return f"{self.template_id} {self.issued_month} → {self.redeemed_month or '-'}"


class CouponRollupMark(models.Model):
    """A month whose cells changed where the job does not look by itself (a reversal of an
    earlier month's redemption, a coupon issued or redeemed with an earlier date): appended
    in the writer's transaction (no shared row, no contention), consumed by the job."""

    issued_month = models.DateField(null=True, blank=True)
    redeemed_month = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_default=models.functions.Now())

    class Meta:
        verbose_name = _("coupon rollup mark")
        verbose_name_plural = _("coupon rollup marks")

    def __str__(self) -> str:
        return f"{self.issued_month or '-'} / {self.redeemed_month or '-'}"


class CouponRollupState(models.Model):
    """One row: when the rollup was last refreshed (its figures are the coupons as of
    ``refreshed_at``) and last rebuilt from scratch."""

    refreshed_at = models.DateTimeField(_("figures as of"))
    rebuilt_at = models.DateTimeField(_("last rebuilt"), null=True, blank=True)
    months = models.PositiveIntegerField(_("months recomputed last time"), default=0)
    seconds = models.FloatField(_("seconds taken last time"), default=0)

    class Meta:
        verbose_name = _("coupon results rollup state")
        verbose_name_plural = _("coupon results rollup state")
        permissions = [("rebuild_rollup", "Can rebuild the coupon results rollup")]

    def __str__(self) -> str:
        return f"{self.refreshed_at:%Y-%m-%d %H:%M}"
