"""The opportunity pipeline (商机): stages with a win probability, stage history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from crm.policy import ScopedQuerySet


class OpportunityStage(models.Model):
    """A step of the pipeline, in order, with the chance of winning from there."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60)
    position = models.PositiveSmallIntegerField(_("order"), default=100, db_default=100)
    probability = models.PositiveSmallIntegerField(
        _("win probability (%)"), validators=[MaxValueValidator(100)]
    )
    is_won = models.BooleanField(_("won"), default=False, db_default=False)
    is_lost = models.BooleanField(
        _("lost"),
        default=False,
        db_default=False,
        help_text=_("Moving an opportunity here requires a reason."),
    )
    is_active = models.BooleanField(_("active"), default=True, db_default=True)

    class Meta:
        verbose_name = _("opportunity stage")
        verbose_name_plural = _("opportunity stages")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="accounts_stage_probability_max"
            ),
            models.CheckConstraint(
                condition=~(Q(is_won=True) & Q(is_lost=True)), name="accounts_stage_won_or_lost"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class OpportunityQuerySet(ScopedQuerySet["Opportunity"]):
    def open(self) -> OpportunityQuerySet:
        return self.filter(stage__is_won=False, stage__is_lost=False)


class Opportunity(models.Model):
    """A chance to sell to an account, owned by a rep of one business unit."""

    scope_field: ClassVar[str] = "business_unit"

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.PROTECT,
        related_name="opportunities",
        verbose_name=_("account"),
    )
    name = models.CharField(_("name"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="opportunities",
        verbose_name=_("owner"),
    )
    business_unit = models.ForeignKey(
        "crm.BusinessUnit",
        on_delete=models.PROTECT,
        related_name="opportunities",
        verbose_name=_("business unit"),
    )
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, default=Decimal("0"), db_default=0
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY", db_default="CNY")
    stage = models.ForeignKey(
        OpportunityStage,
        on_delete=models.PROTECT,
        related_name="opportunities",
        verbose_name=_("stage"),
    )
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=300, blank=True, db_default="")
    products = models.CharField(_("products"), max_length=300, blank=True, db_default="")
    notes = models.TextField(_("notes"), blank=True, db_default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_default=Now())

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="accounts_opp_amount_ge_0")
        ]
        indexes = [
            models.Index(fields=["expected_close"], name="accounts_opp_close"),
            # The board: each column's largest cards in order, for a unit or a rep (the
            # per-stage LIMITed selects of ``board_cards`` read them without a sort; they
            # replace the (unit, stage) and (owner, stage) indexes, their prefixes) ...
            models.Index(
                fields=["business_unit", "stage", "-amount", "-id"], name="accounts_opp_unit_top"
            ),
            models.Index(
                fields=["owner", "stage", "-amount", "-id"], name="accounts_opp_owner_top"
            ),
            # ... and the column heads' sums from the index alone.
            models.Index(
                fields=["business_unit", "currency", "stage"],
                include=["amount", "expected_close", "owner"],
                name="accounts_opp_unit_sums",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OpportunityContact(models.Model):
    """A contact involved in an opportunity, in the roles they play in it."""

    opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.CASCADE,
        related_name="involved",
        verbose_name=_("opportunity"),
    )
    contact = models.ForeignKey(
        "accounts.Contact",
        on_delete=models.CASCADE,
        related_name="opportunities",
        verbose_name=_("contact"),
    )
    roles = models.ManyToManyField(
        "accounts.ContactRole", blank=True, related_name="+", verbose_name=_("roles")
    )

    class Meta:
        verbose_name = _("contact involved")
        verbose_name_plural = _("contacts involved")
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "contact"], name="accounts_oppcontact_once"
            )
        ]

    def __str__(self) -> str:
        return str(self.contact)


class OpportunityStageChange(models.Model):
    """One move of an opportunity between stages; never updated or deleted."""

    opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.CASCADE,
        related_name="stage_changes",
        verbose_name=_("opportunity"),
    )
    from_stage = models.ForeignKey(
        OpportunityStage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from"),
    )
    to_stage = models.ForeignKey(
        OpportunityStage, on_delete=models.PROTECT, related_name="+", verbose_name=_("to")
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    changed_at = models.DateTimeField(_("when"), default=timezone.now, db_default=Now())
    lost_reason = models.CharField(_("lost reason"), max_length=300, blank=True, db_default="")

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["opportunity", "changed_at"], name="accounts_stagechg")]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


class OpportunityTotalQuerySet(ScopedQuerySet["OpportunityTotal"]):
    # Add to a key's row, creating it if missing: an atomic increment (two moves at once
    # both count). A CHECK is tested on the row an INSERT proposes before ON CONFLICT, so
    # a decrement (its row exists: the opportunity counted there) is a plain UPDATE.
    _ADD_SQL = (
        "INSERT INTO accounts_opportunitytotal"
        " (business_unit_id, currency, owner_id, stage_id, month, count, amount)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (business_unit_id, currency, owner_id, stage_id, month) DO UPDATE SET"
        " count = accounts_opportunitytotal.count + EXCLUDED.count,"
        " amount = accounts_opportunitytotal.amount + EXCLUDED.amount"
    )

    def add(self, deltas: dict[tuple[Any, ...], tuple[int, Decimal]]) -> None:
        """Apply ``deltas`` ({(unit, currency, owner, stage, month): (count, amount)}) in the
        caller's transaction, one statement per key in key order (two transactions touching
        the same rows lock them in the same order: no deadlock); nothing for no change."""
        from django.db import connection

        for key, (count, amount) in sorted(
            deltas.items(), key=lambda kv: (*kv[0][:4], kv[0][4] or date.min)
        ):
            if count > 0 or (count == 0 and amount > 0):
                with connection.cursor() as cursor:
                    cursor.execute(self._ADD_SQL, [*key, count, amount])
            elif count or amount:
                unit, currency, owner, stage, month = key
                updated = self.filter(
                    business_unit_id=unit,
                    currency=currency,
                    owner_id=owner,
                    stage_id=stage,
                    month=month,
                ).update(count=F("count") + count, amount=F("amount") + amount)
                if updated != 1:
                    raise RuntimeError(f"opportunity totals out of step at {key}")


class OpportunityTotal(models.Model):
    """How many opportunities, and their Σ amount, per (unit, currency, owner, stage,
    expected-close month): kept by the opportunity services in their own transaction, so
    that the board's column heads read a few hundred of these rather than every opportunity
    in scope. ``month`` is the first day of the expected close's month (``None``: no date).
    ``accounts.services.rebuild_opportunity_totals`` recomputes them (the bench loader)."""

    scope_field: ClassVar[str] = "business_unit"

    business_unit = models.ForeignKey(
        "crm.BusinessUnit", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    currency = models.CharField(max_length=3)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    stage = models.ForeignKey(
        OpportunityStage, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    month = models.DateField(null=True, blank=True)
    count = models.IntegerField(default=0, db_default=0)
    amount = models.DecimalField(
        max_digits=20, decimal_places=2, default=Decimal("0"), db_default=0
    )

    objects = OpportunityTotalQuerySet.as_manager()

    class Meta:
        verbose_name = _("opportunity total")
        verbose_name_plural = _("opportunity totals")
        constraints = [
            models.UniqueConstraint(
                fields=["business_unit", "currency", "owner", "stage", "month"],
                name="accounts_opptotal_key",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=Q(count__gte=0), name="accounts_opptotal_count"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="accounts_opptotal_amount"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.business_unit_id}/{self.currency}/{self.owner_id}/{self.stage_id}/{self.month}"
        )
