"""Routing rules: which pool (and which rep) a new lead of a unit goes to, by its region,
industry and source. ``leads.services.routing`` applies them on intake."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from crm.policy import ScopedQuerySet
from leads.models.leads import LeadSource
from leads.models.pools import PoolRole

# What separates the values of a condition typed in one box: commas (Western or Chinese), the
# Chinese enumeration comma, semicolons, new lines.
_SEPARATORS = re.compile(r"[,，、;；\n]+")


def split_values(text: str) -> list[str]:
    """``"上海，杭州 , 苏州"`` → ``["上海", "杭州", "苏州"]`` (see ``normalize_values``)."""
    return normalize_values(_SEPARATORS.split(text or ""))


def normalize_values(values: Iterable[str]) -> list[str]:
    """A condition's values trimmed (inner spaces collapsed, as intake stores a lead's region
    and industry), blanks dropped, each once whatever its case, in the order given."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        text = " ".join(str(value or "").split())
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            out.append(text)
    return out


def match_key(value: str) -> str:
    """How a lead's region or industry is compared with a rule's: trimmed, case-insensitive."""
    return " ".join((value or "").split()).casefold()


NO_CONDITION_MESSAGE = _(
    "Give at least one condition (region, industry or source): a rule without one would take "
    "every new lead of the unit. To send every lead to one pool, name that pool where the "
    "leads come in instead."
)


def rule_reps(pool: Any) -> models.QuerySet[Any]:
    """Who a rule sending leads to ``pool`` may name as its rep: the pool's active members
    with the rep role. The one definition: the rule's validation accepts them and nobody
    else, the admin's rep picker lists them (intake re-checks the same at routing time)."""
    return get_user_model().objects.filter(
        is_active=True,
        lead_pool_memberships__pool=pool,
        lead_pool_memberships__role=PoolRole.REP,
    )


def rep_label(user: Any) -> str:
    """A rep as the rule's admin names them: 张建国 (zhangjg), or the username alone."""
    name = user.get_full_name()
    return f"{name} ({user.username})" if name else str(user.username)


class RoutingRuleQuerySet(ScopedQuerySet["RoutingRule"]):
    def active(self) -> RoutingRuleQuerySet:
        return self.filter(is_active=True)


class RoutingRule(models.Model):
    """A rule of a unit: a new lead whose region, industry and source match (a blank condition
    matches any; a condition lists one or more values, any of which matches) goes to the
    rule's pool, and to the rule's rep when one is named. The active rules are tried lowest
    priority number first; the first that matches decides. A lead submitted into a named pool
    is not routed."""

    scope_field: ClassVar[str] = "business_unit"

    business_unit = models.ForeignKey(
        "crm.BusinessUnit",
        on_delete=models.PROTECT,
        related_name="lead_routing_rules",
        verbose_name=_("business unit"),
    )
    name = models.CharField(_("name"), max_length=100)
    priority = models.PositiveIntegerField(
        _("priority"),
        default=100,
        db_default=100,
        help_text=_("Rules are tried lowest number first; the first that matches decides."),
    )
    is_active = models.BooleanField(_("active"), default=True, db_default=True)
    regions = ArrayField(
        models.CharField(max_length=60),
        verbose_name=_("regions"),
        default=list,
        db_default=[],
        blank=True,
        help_text=_(
            "Any of these regions (several separated by commas), compared without regard to "
            "case; empty: any region."
        ),
    )
    industries = ArrayField(
        models.CharField(max_length=60),
        verbose_name=_("industries"),
        default=list,
        db_default=[],
        blank=True,
        help_text=_(
            "Any of these industries (several separated by commas), compared without regard to "
            "case; empty: any industry."
        ),
    )
    sources = ArrayField(
        models.CharField(max_length=12, choices=LeadSource.choices),
        verbose_name=_("sources"),
        default=list,
        db_default=[],
        blank=True,
        help_text=_("Any of the sources ticked; none ticked: any source."),
    )
    pool = models.ForeignKey(
        "leads.LeadPool",
        on_delete=models.CASCADE,
        related_name="routing_rules",
        verbose_name=_("target pool"),
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lead_routing_rules",
        verbose_name=_("target rep"),
        help_text=_(
            "A rep of the pool who gets the lead at once, within their hold limit (full: the "
            "lead waits in the pool). Empty: the pool's own assignment applies."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_default=Now())

    objects = RoutingRuleQuerySet.as_manager()

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["business_unit_id", "priority", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_unit", "name"], name="leads_routing_rule_name"
            ),
            models.CheckConstraint(
                condition=~(Q(regions=[]) & Q(industries=[]) & Q(sources=[])),
                name="leads_routing_rule_has_condition",
                violation_error_message=NO_CONDITION_MESSAGE,
            ),
        ]
        indexes = [
            models.Index(
                fields=["business_unit", "priority"],
                condition=Q(is_active=True),
                name="leads_routing_rule_active",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean_fields(self, exclude: Any = None) -> None:
        # The lists tidied before their items are validated (a blank item is dropped).
        self.regions = normalize_values(self.regions or [])
        self.industries = normalize_values(self.industries or [])
        self.sources = normalize_values(self.sources or [])
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        pool = self.pool if self.pool_id else None
        if pool is not None and self.business_unit_id is not None and not self.pool_fits(pool):
            errors["pool"] = _("Choose an active pool of the rule's business unit.")
        elif pool is not None and self.rep_id is not None and not self.rep_fits(pool):
            errors["rep"] = _(
                "%(rep)s is not an active rep of the pool “%(pool)s”: choose one of its members "
                "with the rep role, or leave the rep empty."
            ) % {"rep": rep_label(self.rep), "pool": pool}
        if errors:
            raise ValidationError(errors)

    def pool_fits(self, pool: Any) -> bool:
        return bool(pool.business_unit_id == self.business_unit_id and pool.is_active)

    def rep_fits(self, pool: Any) -> bool:
        return rule_reps(pool).filter(pk=self.rep_id).exists()

    def matches(self, *, region: str, industry: str, source: str) -> bool:
        """Whether a lead with these fields is this rule's (a blank condition matches any)."""
        if self.regions and match_key(region) not in {match_key(v) for v in self.regions}:
            return False
        if self.industries and match_key(industry) not in {match_key(v) for v in self.industries}:
            return False
        return not self.sources or source in self.sources
