"""Trigger rules: the master's events (stored transactions, timeline events) issue coupons.

The master tells campaigns through ``crm.registry`` hooks, after its commit, with a Celery
task (at-least-once, so each step is safe twice). Each ``(rule, event)`` fires at most once:
the firing row is written first and ``(rule, event_key)`` is unique, so a second processing
of the same event (a retry, the order pushed again, two workers at once) waits on the first
and then does nothing. A blacklisted customer is skipped (the firing says why); a rule whose
budget (coupons or face value) cannot pay for one more coupon stops (``is_active`` off,
``exhausted_at`` set), its firing records ``budget_exhausted`` and its owner gets a
notification (the firing that stopped it only: later refusals tell nobody).

Which (event type, unit) pairs any active rule watches is kept per process for
``WATCH_SECONDS`` and read after the writer's commit (the hook inside ``record_event`` never
queries); the rule services forget it in their process at once, other processes see a new
rule within that time."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.errors import (
    CouponError,
    CouponExhausted,
    CouponLimitReached,
    CustomerBlacklisted,
    InvalidCouponRequest,
)
from campaigns.models import (
    TRANSACTION_EVENT,
    CouponTemplate,
    FiringOutcome,
    IssueSource,
    TemplateFunding,
    TriggerFiring,
    TriggerRule,
)
from campaigns.services.issuing import issue_coupon
from campaigns.services.notices import tell_budget_exhausted
from crm.models import COMPLETED_PURCHASE, TimelineEvent, Transaction
from crm.registry import event_types

logger = logging.getLogger(__name__)

WATCH_SECONDS = 30.0
_watched: tuple[float, frozenset[tuple[str, int | None]]] | None = None


def forget_watched_events() -> None:
    global _watched
    _watched = None


def watched_events() -> frozenset[tuple[str, int | None]]:
    """``(event type, source unit id or None: any unit)`` of every active rule (kept
    ``WATCH_SECONDS``)."""
    global _watched
    now = time.monotonic()
    if _watched is None or now - _watched[0] > WATCH_SECONDS:
        pairs = TriggerRule.objects.filter(is_active=True).values_list(
            "event_type", "source_business_unit_id"
        )
        _watched = (now, frozenset(pairs))
    return _watched[1]


def rule_event_choices() -> list[tuple[str, str]]:
    """What a rule may listen to: a stored transaction, or any registered timeline event
    except the coupons' own."""
    choices = [(TRANSACTION_EVENT, str(_("A transaction is stored")))]
    for code, kind in sorted(event_types().items()):
        if not code.startswith("coupon."):
            choices.append((code, str(kind.label)))
    return choices


def trigger_rule_problems(rule: TriggerRule) -> dict[str, str]:
    """What is wrong with ``rule`` before it is saved, by field (empty: nothing). The one
    place the rule's consistency is decided: the service refuses with the first problem, the
    admin's and the marketing screens' forms show them all beside their fields."""
    problems: dict[str, str] = {}
    if rule.event_type not in dict(rule_event_choices()):
        problems["event_type"] = _("Choose a known event.")
    if (
        rule.template_id is not None
        and rule.funding_business_unit_id is not None
        and not TemplateFunding.objects.filter(
            template_id=rule.template_id, business_unit_id=rule.funding_business_unit_id
        ).exists()
    ):
        problems["funding_business_unit"] = _(
            "The paying unit must be one of the template's funding units."
        )
    if rule.min_amount is not None:
        if rule.event_type != TRANSACTION_EVENT:
            problems["min_amount"] = _("An amount condition applies to transactions only.")
        elif rule.min_amount < 0:
            problems["min_amount"] = _("The amount cannot be negative.")
    if rule.pk is not None:
        if rule.budget_count is not None and rule.budget_count < rule.issued_count:
            problems["budget_count"] = _(
                "%(count)d coupons were issued already: the budget cannot be lower."
            ) % {"count": rule.issued_count}
        if rule.budget_value is not None and rule.budget_value < rule.issued_value:
            problems["budget_value"] = _(
                "Coupons worth %(issued)s were issued already: the budget cannot be lower."
            ) % {"issued": rule.issued_value}
    if rule.budget_value is not None and rule.budget_value < 0:
        problems["budget_value"] = _("The budget cannot be negative.")
    return problems


def save_trigger_rule(rule: TriggerRule) -> TriggerRule:
    """Create or change a rule (the admin and the screens call this): its template must be
    funded by its paying unit, its event known, its budget not below what it issued; the
    watch list is refreshed."""
    problems = trigger_rule_problems(rule)
    if problems:
        field, message = next(iter(problems.items()))
        raise InvalidCouponRequest(message, field=field)
    with transaction.atomic():
        rule.save()
    forget_watched_events()
    return rule


def set_trigger_rule_active(*, rule: TriggerRule, active: bool) -> TriggerRule:
    """Switch a rule on or off. Switching on a rule that stopped on its budget is refused
    until its budget can pay for one more coupon; then it runs again (``exhausted_at``
    cleared). A conditional update: a firing exhausting the budget meanwhile wins."""
    with transaction.atomic():
        current = (
            TriggerRule.objects.select_for_update(of=("self",))
            .select_related("template")
            .get(pk=rule.pk)
        )
        if active:
            count, value = budget_left(current)
            if count < 1 or value < current.template.face_value:
                raise InvalidCouponRequest(
                    _(
                        "Its budget cannot pay for one more coupon: raise the budget first, "
                        "then activate the rule."
                    ),
                    field="budget_count",
                )
            TriggerRule.objects.filter(pk=current.pk).update(is_active=True, exhausted_at=None)
            current.is_active, current.exhausted_at = True, None
        else:
            TriggerRule.objects.filter(pk=current.pk).update(is_active=False)
            current.is_active = False
    forget_watched_events()
    return current


def _tell_owner(rule: TriggerRule, now: datetime) -> str:
    message = _(
        "Rule “%(rule)s” stopped on %(when)s: its budget (%(count)d coupons, %(value)s face "
        "value) cannot pay for one more coupon."
    ) % {
        "rule": rule.name,
        "when": timezone.localtime(now).strftime("%Y-%m-%d %H:%M"),
        "count": rule.budget_count,
        "value": rule.budget_value,
    }
    logger.warning("trigger rule %s budget exhausted (owner %s)", rule.pk, rule.owner_id)
    return message


def fire_rule(
    rule: TriggerRule | int, *, event_key: str, customer_id: int, now: datetime | None = None
) -> TriggerFiring | None:
    """What ``rule`` does for one event of ``customer_id``; ``None`` when it already fired
    for ``event_key``."""
    now = now or timezone.now()
    rule_id = rule if isinstance(rule, int) else rule.pk
    with transaction.atomic():
        try:
            with transaction.atomic():
                firing = TriggerFiring.objects.create(
                    rule_id=rule_id,
                    event_key=event_key,
                    customer_id=customer_id,
                    outcome=FiringOutcome.INACTIVE,
                    created_at=now,
                )
        except IntegrityError:
            return None  # fired already (the first processing has committed)
        current = TriggerRule.objects.select_related("template").get(pk=rule_id)
        template: CouponTemplate = current.template
        outcome, reason, coupon = FiringOutcome.ISSUED, "", None
        if not current.is_active or not template.is_active:
            outcome, reason = FiringOutcome.INACTIVE, _("The rule or its template is inactive.")
        else:
            face = template.face_value
            try:
                with transaction.atomic():
                    took = TriggerRule.objects.filter(
                        pk=rule_id,
                        is_active=True,
                        issued_count__lte=F("budget_count") - 1,
                        issued_value__lte=F("budget_value") - face,
                    ).update(
                        issued_count=F("issued_count") + 1, issued_value=F("issued_value") + face
                    )
                    if not took:
                        raise _BudgetExhausted
                    coupon = issue_coupon(
                        template=template,
                        customer=customer_id,
                        source=IssueSource.TRIGGER,
                        source_reference=f"rule:{rule_id}:{event_key}",
                        now=now,
                    )
            except _BudgetExhausted:
                outcome = FiringOutcome.BUDGET_EXHAUSTED
                stopped = TriggerRule.objects.filter(pk=rule_id, is_active=True).update(
                    is_active=False, exhausted_at=now
                )
                if stopped:  # this firing stopped the rule: its owner hears it, once
                    reason = _tell_owner(current, now)
                    tell_budget_exhausted(current, now)
                else:
                    reason = _("The budget is exhausted.")
                forget_watched_events()
            except CustomerBlacklisted as exc:
                outcome, reason = FiringOutcome.SKIPPED_BLACKLISTED, exc.message
                logger.info(
                    "trigger rule %s skipped customer %s: blacklisted", rule_id, customer_id
                )
            except CouponExhausted as exc:
                outcome, reason = FiringOutcome.STOCK_EXHAUSTED, exc.message
            except CouponLimitReached as exc:
                outcome, reason = FiringOutcome.LIMIT_REACHED, exc.message
            except CouponError as exc:
                outcome, reason = FiringOutcome.INACTIVE, exc.message
        TriggerFiring.objects.filter(pk=firing.pk).update(
            outcome=outcome, reason=str(reason)[:300], coupon=coupon
        )
        firing.outcome, firing.reason, firing.coupon = outcome, str(reason)[:300], coupon
    return firing


class _BudgetExhausted(Exception):
    pass


def _active_rules(event_type: str, unit_ids: Iterable[int]) -> list[TriggerRule]:
    """Active rules on ``event_type`` in one of ``unit_ids`` or in any unit."""
    return list(
        TriggerRule.objects.filter(is_active=True, event_type=event_type)
        .filter(Q(source_business_unit_id__in=set(unit_ids)) | Q(source_business_unit__isnull=True))
        .order_by("pk")
    )


def _applies(rule: TriggerRule, unit_id: int | None) -> bool:
    return rule.source_business_unit_id in (None, unit_id)


def fire_for_transactions(transaction_ids: list[int]) -> dict[str, int]:
    """Rules on stored transactions: each completed purchase of a known customer, at the
    rule's unit and of at least its amount, fires the rule once."""
    rows = list(
        Transaction.objects.filter(pk__in=transaction_ids, customer__isnull=False)
        .filter(COMPLETED_PURCHASE)
        .values_list("pk", "business_unit_id", "customer_id", "amount")
    )
    rules = _active_rules(TRANSACTION_EVENT, {unit for _pk, unit, _c, _a in rows})
    counts: dict[str, int] = {}
    for pk, unit_id, customer_id, amount in rows:
        for rule in rules:
            if not _applies(rule, unit_id) or not rule.matches(amount=amount):
                continue
            firing = fire_rule(rule, event_key=f"transaction:{pk}", customer_id=customer_id)
            key = firing.outcome if firing else "already_fired"
            counts[key] = counts.get(key, 0) + 1
    return counts


def fire_for_event(event_id: int) -> dict[str, int]:
    """Rules on a timeline event (a member reaching a level, a lead converted …)."""
    event = TimelineEvent.objects.filter(pk=event_id).first()
    if event is None:
        return {}
    counts: dict[str, int] = {}
    units = [event.business_unit_id] if event.business_unit_id else []
    for rule in _active_rules(event.type, units):
        if not _applies(rule, event.business_unit_id) or not rule.matches(data=event.data):
            continue
        firing = fire_rule(rule, event_key=f"event:{event.pk}", customer_id=event.customer_id)
        key = firing.outcome if firing else "already_fired"
        counts[key] = counts.get(key, 0) + 1
    return counts


def watches_transactions() -> bool:
    return any(kind == TRANSACTION_EVENT for kind, _unit in watched_events())


def budget_left(rule: TriggerRule) -> tuple[int, Decimal]:
    return rule.budget_count - rule.issued_count, rule.budget_value - rule.issued_value
