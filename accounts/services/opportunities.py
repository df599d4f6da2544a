"""Opportunities: created in a stage, moved between stages with history kept."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import LostReasonRequired, OpportunityError
from accounts.models import (
    Account,
    Contact,
    ContactRole,
    Opportunity,
    OpportunityContact,
    OpportunityStage,
    OpportunityStageChange,
    OpportunityTotal,
)
from crm.imports.currencies import ISO_CURRENCIES as _KNOWN
from crm.models import BusinessUnit
from crm.services import record_event

# --- The maintained totals (the board's column heads) -----------------------------------------

_Snapshot = tuple[tuple[Any, ...], Decimal]


def _snapshot(opportunity: Opportunity) -> _Snapshot:
    """Where ``opportunity`` counts in ``OpportunityTotal``, and how much."""
    close = opportunity.expected_close
    key = (
        opportunity.business_unit_id,
        opportunity.currency,
        opportunity.owner_id,
        opportunity.stage_id,
        close.replace(day=1) if close else None,
    )
    return key, opportunity.amount


def _count_change(before: _Snapshot | None, after: _Snapshot | None) -> None:
    """Move the opportunity's count and amount from ``before`` to ``after`` (either may be
    ``None``: created, deleted), in the caller's transaction."""
    deltas: dict[tuple[Any, ...], tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
    for snapshot, sign in ((before, -1), (after, 1)):
        if snapshot is not None:
            key, amount = snapshot
            count, total = deltas[key]
            deltas[key] = (count + sign, total + sign * amount)
    OpportunityTotal.objects.add(deltas)


REBUILD_TOTALS_SQL = """
INSERT INTO accounts_opportunitytotal
    (business_unit_id, currency, owner_id, stage_id, month, count, amount)
SELECT business_unit_id, currency, owner_id, stage_id,
       date_trunc('month', expected_close)::date, count(*), sum(amount)
FROM accounts_opportunity
GROUP BY 1, 2, 3, 4, 5
"""


def rebuild_opportunity_totals() -> int:
    """Recompute every ``OpportunityTotal`` from the opportunities (after a bulk load that
    bypassed the services: the bench's). Locks the opportunities against writes meanwhile."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE accounts_opportunity IN SHARE MODE")
        cursor.execute("DELETE FROM accounts_opportunitytotal")
        cursor.execute(REBUILD_TOTALS_SQL)
        return cursor.rowcount


def clean_amount(amount: Any) -> Decimal:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError) as exc:
        raise OpportunityError(_("Enter an amount."), field="amount") from exc
    if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
        raise OpportunityError(
            _("The amount must be between 0 and 999,999,999,999.99."), field="amount"
        )
    return value.quantize(Decimal("0.01"))


def clean_currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if code not in _KNOWN:
        raise OpportunityError(
            _("“%(code)s” is not a known currency code.") % {"code": currency}, field="currency"
        )
    return code


def create_opportunity(
    *,
    account: Account,
    name: str,
    owner: Any,
    business_unit: BusinessUnit,
    user: Any,
    amount: Any = 0,
    currency: str = "CNY",
    stage: OpportunityStage | None = None,
    expected_close: date | None = None,
    products: str = "",
    notes: str = "",
    contacts: Iterable[tuple[Contact, Iterable[ContactRole]]] = (),
) -> Opportunity:
    name = " ".join((name or "").split())
    if not name:
        raise OpportunityError(_("Give the opportunity a name."), field="name")
    value, code = clean_amount(amount), clean_currency(currency)
    stage = stage or OpportunityStage.objects.filter(is_active=True).first()
    if stage is None:
        raise OpportunityError(_("Configure the opportunity stages first."), field="stage")
    if stage.is_lost:
        raise OpportunityError(_("A new opportunity cannot start as lost."), field="stage")
    contacts = list(contacts)
    if any(c.account_id != account.pk for c, _roles in contacts):
        raise OpportunityError(
            _("Every contact involved must work at this account."), field="contacts"
        )
    with transaction.atomic():
        opportunity = Opportunity.objects.create(
            account=account,
            name=name[:200],
            owner=owner,
            business_unit=business_unit,
            amount=value,
            currency=code,
            stage=stage,
            expected_close=expected_close,
            products=products.strip()[:300],
            notes=notes.strip(),
        )
        _count_change(None, _snapshot(opportunity))
        OpportunityStageChange.objects.create(
            opportunity=opportunity, from_stage=None, to_stage=stage, changed_by=_user(user)
        )
        for contact, roles in contacts:
            link = OpportunityContact.objects.create(opportunity=opportunity, contact=contact)
            link.roles.set(list(roles))
    return opportunity


def _user(user: Any) -> Any:
    return user if getattr(user, "pk", None) else None


def move_opportunity(
    *, opportunity: Opportunity, stage: OpportunityStage, user: Any, lost_reason: str = ""
) -> Opportunity:
    """Move to ``stage`` (history kept; the same stage again changes nothing)."""
    lost_reason = " ".join((lost_reason or "").split())
    with transaction.atomic():
        opportunity = (
            Opportunity.objects.select_for_update(of=("self",))
            .select_related("stage", "account__customer")
            .get(pk=opportunity.pk)
        )
        if opportunity.stage_id == stage.pk:
            return opportunity
        if stage.is_lost and not lost_reason:
            raise LostReasonRequired(_("Say why the opportunity was lost."), field="lost_reason")
        now = timezone.now()
        previous = opportunity.stage
        before = _snapshot(opportunity)
        opportunity.stage = stage
        opportunity.lost_reason = lost_reason[:300] if stage.is_lost else ""
        opportunity.save(update_fields=["stage", "lost_reason", "updated_at"])
        _count_change(before, _snapshot(opportunity))
        OpportunityStageChange.objects.create(
            opportunity=opportunity,
            from_stage=previous,
            to_stage=stage,
            changed_by=_user(user),
            changed_at=now,
            lost_reason=opportunity.lost_reason,
        )
        record_event(
            customer=opportunity.account.customer_id,
            type="opportunity.stage_changed",
            summary=_("Opportunity “%(name)s”: %(from)s → %(to)s")
            % {"name": opportunity.name, "from": previous.name, "to": stage.name},
            business_unit=opportunity.business_unit_id,
            actor=user,
            occurred_at=now,
            data={
                "opportunity": opportunity.pk,
                "from": previous.code,
                "to": stage.code,
                "lost_reason": opportunity.lost_reason,
            },
        )
    return opportunity


# What ``update_opportunity`` may change; the owner, unit and account have their own rules,
# the stage moves with ``move_opportunity``.
OPPORTUNITY_FIELDS = ("name", "amount", "currency", "expected_close", "products", "notes")


def update_opportunity(
    *, opportunity: Opportunity, user: Any, fields: dict[str, Any]
) -> Opportunity:
    cleaned: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in OPPORTUNITY_FIELDS:
            raise OpportunityError(
                _("“%(field)s” cannot be set here.") % {"field": key}, field=key, code="read_only"
            )
        if key == "name":
            value = " ".join(str(value or "").split())[:200]
            if not value:
                raise OpportunityError(_("Give the opportunity a name."), field="name")
        elif key == "amount":
            value = clean_amount(value)
        elif key == "currency":
            value = clean_currency(value)
        elif key in ("products", "notes"):
            value = str(value or "").strip()[:300] if key == "products" else str(value or "")
        cleaned[key] = value
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
        before = _snapshot(opportunity)
        for key, value in cleaned.items():
            setattr(opportunity, key, value)
        if cleaned:
            opportunity.save(update_fields=[*cleaned, "updated_at"])
            _count_change(before, _snapshot(opportunity))
    return opportunity


def reassign_opportunity(*, opportunity: Opportunity, owner: Any, user: Any) -> Opportunity:
    """Give the opportunity to another rep (managers: the account-owner permission)."""
    from accounts.errors import NotAllowed

    if not user.has_perm("accounts.assign_account_owner"):
        raise NotAllowed(_("You may not reassign opportunities."), field="owner")
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
        if opportunity.owner_id != owner.pk:
            before = _snapshot(opportunity)
            opportunity.owner = owner
            opportunity.save(update_fields=["owner", "updated_at"])
            _count_change(before, _snapshot(opportunity))
    return opportunity
