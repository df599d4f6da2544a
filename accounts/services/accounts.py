"""Accounts: creation through the customer master, editable fields, the group hierarchy,
owner and units, relations between accounts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from accounts.errors import (
    AccountCycle,
    AccountError,
    InvalidRelation,
    NotAllowed,
    NotAnOrganization,
)
from accounts.models import (
    Account,
    AccountRelation,
    AccountStatus,
    Industry,
    RelationKind,
    SizeBand,
)
from crm.models import BusinessUnit, CustomerKind, IdentityType
from crm.services import IdentityInput, record_event, resolve_customer

HIERARCHY_LOCK = "accounts_account.parent_id"  # the same key as the database trigger's

# What a user may edit on an account with ``update_account``; owner, units and parent have
# their own verbs (and permissions).
EDITABLE_FIELDS = ("industry", "size_band", "province", "city", "address", "website", "status")
_CHOICES = {"industry": Industry, "size_band": SizeBand, "status": AccountStatus}
_LENGTHS = {"province": 40, "city": 40, "address": 300, "website": 200}


@dataclass
class AccountResult:
    account: Account
    created: bool


def clean_account_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The editable fields, validated; an unknown or protected one is refused by name."""
    cleaned: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in EDITABLE_FIELDS:
            raise AccountError(
                _("“%(field)s” cannot be set here.") % {"field": key}, field=key, code="read_only"
            )
        value = "" if value is None else " ".join(str(value).split())
        choices = _CHOICES.get(key)
        if choices is not None and value and value not in choices.values:
            raise AccountError(
                _("“%(value)s” is not a valid choice.") % {"value": value}, field=key
            )
        if key in _LENGTHS and len(value) > _LENGTHS[key]:
            raise AccountError(_("At most %(n)d characters.") % {"n": _LENGTHS[key]}, field=key)
        if key == "website" and value:
            try:
                URLValidator(schemes=["http", "https"])(value)
            except ValidationError as exc:
                raise AccountError(_("Enter a web address (https://…)."), field=key) from exc
        cleaned[key] = value
    if cleaned.get("status") == "":
        raise AccountError(_("Choose a status."), field="status")
    return cleaned


def create_account(
    *,
    uscc: str,
    name: str,
    user: Any,
    business_unit: BusinessUnit,
    fields: Mapping[str, Any] | None = None,
    owner: Any = None,
    source: str = "accounts",
) -> AccountResult:
    """The account of the organization with this USCC, created through identity resolution
    (a USCC the master knows reuses its customer). An existing account gains the unit."""
    name = " ".join((name or "").split())
    if not name:
        raise AccountError(_("Give the company's name."), field="name")
    cleaned = clean_account_fields(fields or {})
    with transaction.atomic():
        resolution = resolve_customer(
            identities=[IdentityInput(IdentityType.USCC, uscc)],
            attributes={"display_name": name, "kind": CustomerKind.ORGANIZATION},
            source=source,
            actor=user,
            business_unit=business_unit,
        )
        customer = resolution.customer
        if customer.kind != CustomerKind.ORGANIZATION:
            raise NotAnOrganization(
                _("This USCC belongs to a person customer; an account is an organization."),
                field="uscc",
            )
        account, created = Account.objects.select_for_update().get_or_create(
            customer=customer,
            defaults={**cleaned, "owner": owner if getattr(owner, "pk", None) else None},
        )
        account.business_units.add(business_unit)
        if created:
            record_event(
                customer=customer,
                type="account.created",
                summary=_("Account created"),
                business_unit=business_unit,
                actor=user,
                data={"account": account.pk},
            )
    return AccountResult(account=account, created=created)


def update_account(*, account: Account, user: Any, fields: Mapping[str, Any]) -> Account:
    cleaned = clean_account_fields(fields)
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        for key, value in cleaned.items():
            setattr(account, key, value)
        if cleaned:
            account.save(update_fields=[*cleaned, "updated_at"])
    return account


def would_cycle(account_id: int, parent_id: int) -> bool:
    """Whether ``parent_id``'s chain of parents reaches ``account_id`` (or is it)."""
    if account_id == parent_id:
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE up(id, parent_id, depth) AS (
                SELECT id, parent_id, 1 FROM accounts_account WHERE id = %s
                UNION ALL
                SELECT a.id, a.parent_id, up.depth + 1
                FROM accounts_account a JOIN up ON a.id = up.parent_id WHERE up.depth < 1000
            )
            SELECT EXISTS (SELECT 1 FROM up WHERE id = %s)
            """,
            [parent_id, account_id],
        )
        return bool(cursor.fetchone()[0])


def lock_hierarchy() -> None:
    """Parent links change one at a time (the trigger takes the same lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [HIERARCHY_LOCK])


def set_parent(*, account: Account, parent: Account | None, user: Any) -> Account:
    """Link ``account`` under ``parent`` (a group); a link that closes a loop is refused."""
    with transaction.atomic():
        lock_hierarchy()
        ids = [account.pk] + ([parent.pk] if parent is not None else [])
        locked = {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=ids)}
        account = locked[account.pk]
        if parent is not None and (parent.pk == account.pk or would_cycle(account.pk, parent.pk)):
            raise AccountCycle(
                _("“%(parent)s” belongs to the group of “%(account)s”: it cannot be its parent.")
                % {"parent": locked[parent.pk], "account": account},
                field="parent",
            )
        if account.parent_id == (parent.pk if parent else None):
            return account
        account.parent = parent
        try:
            with transaction.atomic():
                account.save(update_fields=["parent", "updated_at"])
        except IntegrityError as exc:  # the database's own check (the trigger)
            raise AccountCycle(
                _("This parent would make the group a cycle."), field="parent"
            ) from exc
    return account


def assign_owner(*, account: Account, owner: Any, user: Any) -> Account:
    if not user.has_perm("accounts.assign_account_owner"):
        raise NotAllowed(_("You may not assign account owners."), field="owner")
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        account.owner = owner
        account.save(update_fields=["owner", "updated_at"])
    return account


def set_business_units(*, account: Account, units: Iterable[BusinessUnit], user: Any) -> Account:
    if not user.has_perm("accounts.assign_account_owner"):
        raise NotAllowed(
            _("You may not change which units deal with an account."), field="business_units"
        )
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        account.business_units.set(list(units))
    return account


def add_relation(
    *,
    from_account: Account,
    to_account: Account,
    kind: str,
    user: Any,
    valid_from: date | None = None,
    valid_to: date | None = None,
    note: str = "",
) -> AccountRelation:
    if from_account.pk == to_account.pk:
        raise InvalidRelation(_("An account cannot be related to itself."), field="to_account")
    if kind not in RelationKind.values:
        raise InvalidRelation(_("Choose a kind of relation."), field="kind")
    if valid_from and valid_to and valid_to < valid_from:
        raise InvalidRelation(_("The end date is before the start date."), field="valid_to")
    with transaction.atomic():
        relation, created = AccountRelation.objects.get_or_create(
            from_account=from_account,
            to_account=to_account,
            kind=kind,
            defaults={"valid_from": valid_from, "valid_to": valid_to, "note": note[:300]},
        )
        if not created:
            raise InvalidRelation(_("This relation is already recorded."), field="kind")
    return relation
