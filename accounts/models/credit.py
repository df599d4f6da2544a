"""Credit: evidence about an account, the profile computed from it (score, rating, limit,
next review), the history of every recomputation, and the scoring rule admins edit.

The rule itself (what the numbers mean and how a score is computed) is documented in
``accounts/CREDIT.md`` and in ``accounts.services.credit.score_evidence``; only the services
write profiles and history.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models.customers import staff_member
from crm.policy import ScopedQuerySet

NOTE_MAX = 2000


class EvidenceKind(models.TextChoices):
    REGISTRATION = "registration", _("Registration information")
    CREDIT_REPORT = "credit_report", _("Credit report")
    OPERATIONS = "operations", _("Operations data")
    LITIGATION = "litigation", _("Litigation / enforcement record")
    PAYMENT = "payment", _("Payment behaviour")


class EvidenceEffect(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")


class Rating(models.TextChoices):
    """Ratings read the same in every language (translated to themselves)."""

    AAA = "AAA", _("AAA")
    AA = "AA", _("AA")
    A = "A", _("A")
    BBB = "BBB", _("BBB")
    BB = "BB", _("BB")
    B = "B", _("B")
    CCC = "CCC", _("CCC")
    CC = "CC", _("CC")
    C = "C", _("C")


class ChangeReason(models.TextChoices):
    EVIDENCE = "evidence", _("Evidence recorded")
    REVIEW = "review", _("Review completed")
    RULE = "rule", _("Scoring rule changed")
    MERGE = "merge", _("Accounts merged")


class CreditScoringRule(models.Model):
    """The one scoring rule (a second row is refused by the database). Its weights and bands
    are rows of :class:`CreditWeight` and :class:`CreditBand`."""

    singleton = models.BooleanField(default=True, db_default=True, editable=False)
    base_score = models.SmallIntegerField(
        _("base score"), help_text=_("The score of an account without evidence (0–100).")
    )
    base_limit = models.DecimalField(
        _("base credit limit"),
        max_digits=14,
        decimal_places=2,
        help_text=_("The limit of a rating is this amount times the rating's factor."),
    )
    currency = models.CharField(_("currency"), max_length=3, db_default="CNY")
    full_weight_days = models.PositiveSmallIntegerField(
        _("full weight for (days)"),
        help_text=_("Evidence observed within this many days counts in full."),
    )
    half_weight_days = models.PositiveSmallIntegerField(
        _("half weight until (days)"),
        help_text=_("Older evidence counts half until this age, then not at all."),
    )
    review_interval_days = models.PositiveSmallIntegerField(
        _("review interval (days)"),
        help_text=_("The next review falls due this many days after a review or new evidence."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_default=Now())
    updated_by = staff_member(_("updated by"))

    class Meta:
        verbose_name = _("credit scoring rule")
        verbose_name_plural = _("credit scoring rule")
        constraints = [
            models.UniqueConstraint(fields=["singleton"], name="accounts_credit_rule_one"),
            models.CheckConstraint(condition=Q(singleton=True), name="accounts_credit_rule_single"),
            models.CheckConstraint(
                condition=Q(base_score__gte=0, base_score__lte=100),
                name="accounts_credit_rule_base_score_range",
            ),
            models.CheckConstraint(
                condition=Q(base_limit__gte=0), name="accounts_credit_rule_base_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(half_weight_days__gte=models.F("full_weight_days")),
                name="accounts_credit_rule_decay_ordered",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Credit scoring rule"))


class CreditWeight(models.Model):
    """Points one piece of evidence of ``kind`` with ``effect`` adds to the score."""

    rule = models.ForeignKey(
        CreditScoringRule, on_delete=models.CASCADE, related_name="weights", verbose_name=_("rule")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EvidenceKind.choices)
    effect = models.CharField(_("effect"), max_length=10, choices=EvidenceEffect.choices)
    points = models.SmallIntegerField(_("points"), help_text=_("From −100 to 100."))

    class Meta:
        verbose_name = _("credit weight")
        verbose_name_plural = _("credit weights")
        ordering = ["kind", "effect"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "kind", "effect"], name="accounts_credit_weight_unique"
            ),
            models.CheckConstraint(
                condition=Q(points__gte=-100, points__lte=100),
                name="accounts_credit_weight_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} / {self.get_effect_display()}: {self.points}"


class CreditBand(models.Model):
    """A score of at least ``min_score`` (and below the next band) gets ``rating`` and a
    limit of ``limit_factor`` × the base limit."""

    rule = models.ForeignKey(
        CreditScoringRule, on_delete=models.CASCADE, related_name="bands", verbose_name=_("rule")
    )
    rating = models.CharField(_("rating"), max_length=3, choices=Rating.choices)
    min_score = models.SmallIntegerField(_("lowest score"))
    limit_factor = models.DecimalField(_("limit factor"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("rating band")
        verbose_name_plural = _("rating bands")
        ordering = ["-min_score"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "rating"], name="accounts_credit_band_rating"),
            models.UniqueConstraint(fields=["rule", "min_score"], name="accounts_credit_band_low"),
            models.CheckConstraint(
                condition=Q(min_score__gte=0, min_score__lte=100),
                name="accounts_credit_band_range",
            ),
            models.CheckConstraint(
                condition=Q(limit_factor__gte=0), name="accounts_credit_band_factor_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating} ≥ {self.min_score}"


class CreditEvidenceQuerySet(ScopedQuerySet["CreditEvidence"]):
    pass


class CreditEvidence(models.Model):
    """One fact about an account's creditworthiness, as observed on a date. Never edited:
    a correction is new evidence."""

    scope_field: ClassVar[str] = "account__business_units"
    scope_many: ClassVar[bool] = True

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.PROTECT,
        related_name="credit_evidence",
        verbose_name=_("account"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EvidenceKind.choices)
    source = models.CharField(
        _("source"), max_length=100, help_text=_("Where it comes from, e.g. “PBOC credit report”.")
    )
    observed_on = models.DateField(_("observed on"))
    value = models.CharField(
        _("value"),
        max_length=200,
        blank=True,
        db_default="",
        help_text=_("What was found, e.g. “registered capital ¥5m” or “2 overdue invoices”."),
    )
    effect = models.CharField(_("effect"), max_length=10, choices=EvidenceEffect.choices)
    note = models.TextField(_("note"), max_length=NOTE_MAX, blank=True, db_default="")
    recorded_by = staff_member(_("recorded by"))
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True, db_default=Now())

    objects = CreditEvidenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("credit evidence")
        verbose_name_plural = _("credit evidence")
        ordering = ["-observed_on", "-id"]
        indexes = [
            models.Index(
                fields=["account", "-observed_on", "-id"], name="accounts_evidence_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.observed_on} · {self.get_effect_display()}"


class CreditProfileQuerySet(ScopedQuerySet["CreditProfile"]):
    def due(self) -> CreditProfileQuerySet:
        """Profiles the review task has flagged and nobody has reviewed since."""
        return self.filter(review_due=True)


class CreditProfile(models.Model):
    """An account's current credit standing, computed from its evidence by the rule."""

    scope_field: ClassVar[str] = "account__business_units"
    scope_many: ClassVar[bool] = True

    account = models.OneToOneField(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="credit_profile",
        verbose_name=_("account"),
    )
    score = models.SmallIntegerField(pgettext_lazy("credit", "score"))
    rating = models.CharField(_("rating"), max_length=3, choices=Rating.choices)
    credit_limit = models.DecimalField(_("credit limit"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, db_default="CNY")
    next_review_on = models.DateField(_("next review"))
    review_due = models.BooleanField(
        _("review due"),
        default=False,
        db_default=False,
        help_text=_("Set by the daily review task; cleared by a review or new evidence."),
    )
    computed_at = models.DateTimeField(_("computed"), db_default=Now())
    reviewed_at = models.DateTimeField(_("last reviewed"), null=True, blank=True)

    objects = CreditProfileQuerySet.as_manager()

    class Meta:
        verbose_name = _("credit profile")
        verbose_name_plural = _("credit profiles")
        ordering = ["-id"]
        permissions = [("review_creditprofile", _("Can complete credit reviews"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=100), name="accounts_credit_score_range"
            ),
            models.CheckConstraint(
                condition=Q(credit_limit__gte=0), name="accounts_credit_limit_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["next_review_on"], name="accounts_credit_next_review"),
            models.Index(
                fields=["account"], condition=Q(review_due=True), name="accounts_credit_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating} ({self.score})"


class CreditScoreChange(models.Model):
    """One recomputation of a profile: before and after, why, what evidence, who, when."""

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="credit_changes",
        verbose_name=_("account"),
    )
    reason = models.CharField(_("reason"), max_length=10, choices=ChangeReason.choices)
    evidence = models.ForeignKey(
        CreditEvidence,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="changes",
        verbose_name=_("evidence"),
    )
    score_before = models.SmallIntegerField(_("score before"), null=True, blank=True)
    score_after = models.SmallIntegerField(pgettext_lazy("credit", "score"))
    rating_before = models.CharField(_("rating before"), max_length=3, blank=True, db_default="")
    rating_after = models.CharField(_("rating"), max_length=3)
    limit_before = models.DecimalField(
        _("limit before"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    limit_after = models.DecimalField(_("credit limit"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, db_default="CNY")
    actor = staff_member(_("by"))
    at = models.DateTimeField(_("at"), auto_now_add=True, db_default=Now())

    class Meta:
        verbose_name = _("credit score change")
        verbose_name_plural = _("credit score changes")
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score_after__gte=0, score_after__lte=100),
                name="accounts_credit_change_score_range",
            ),
            models.CheckConstraint(
                condition=Q(limit_after__gte=0), name="accounts_credit_change_limit_positive"
            ),
        ]
        indexes = [models.Index(fields=["account", "-at", "-id"], name="accounts_credit_history")]

    def __str__(self) -> str:
        return f"{self.score_before} → {self.score_after} ({self.get_reason_display()})"
