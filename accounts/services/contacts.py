"""Contacts: people at accounts, created through the customer master (phone / e-mail dedup),
in roles; at most one primary contact per account."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import AccountError, ContactExists, PrimaryContactTaken
from accounts.models import Account, Contact, ContactRole
from crm.models import BusinessUnit, CustomerKind
from crm.services import IdentityInput, record_event, resolve_customer


def _primary_taken(account: Account) -> PrimaryContactTaken:
    return PrimaryContactTaken(
        _("“%(account)s” already has a primary contact; unmark that one first.")
        % {"account": account},
        field="is_primary",
    )


def add_contact(
    *,
    account: Account,
    identities: Iterable[IdentityInput],
    name: str,
    user: Any,
    business_unit: BusinessUnit | None = None,
    roles: Iterable[ContactRole] = (),
    title: str = "",
    department: str = "",
    is_primary: bool = False,
    source: str = "accounts",
) -> Contact:
    """The person (found or created by phone / e-mail) becomes a contact at ``account``."""
    name = " ".join((name or "").split())
    if not name:
        raise AccountError(_("Give the contact's name."), field="name")
    with transaction.atomic():
        account = Account.objects.select_for_update().select_related("customer").get(pk=account.pk)
        resolution = resolve_customer(
            identities=identities,
            attributes={"display_name": name, "kind": CustomerKind.PERSON},
            source=source,
            actor=user,
            business_unit=business_unit,
        )
        person = resolution.customer
        if person.kind != CustomerKind.PERSON:
            raise AccountError(
                _("These identities belong to an organization, not a person."), field="identities"
            )
        if Contact.objects.filter(account=account, person=person).exists():
            raise ContactExists(
                _("%(name)s is already a contact at “%(account)s”.")
                % {"name": person.display_name, "account": account},
                field="identities",
            )
        if is_primary and Contact.objects.filter(account=account, is_primary=True).exists():
            raise _primary_taken(account)
        contact = Contact.objects.create(
            account=account,
            person=person,
            title=title.strip()[:100],
            department=department.strip()[:100],
            is_primary=is_primary,
        )
        contact.roles.set(list(roles))
        data = {"account": account.pk, "contact": contact.pk, "person": person.pk}
        summary = _("%(name)s added as a contact at “%(account)s”") % {
            "name": person.display_name,
            "account": account,
        }
        for customer in (person, account.customer):
            record_event(
                customer=customer,
                type="contact.added",
                summary=summary,
                business_unit=business_unit,
                actor=user,
                data=data,
            )
    return contact


def update_contact(
    *,
    contact: Contact,
    user: Any,
    roles: Iterable[ContactRole] | None = None,
    title: str | None = None,
    department: str | None = None,
    is_primary: bool | None = None,
) -> Contact:
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=contact.account_id).get()
        contact = (
            Contact.objects.select_for_update()
            .select_related("account__customer")
            .get(pk=contact.pk)
        )
        changed: list[str] = []
        if title is not None:
            contact.title, changed = title.strip()[:100], [*changed, "title"]
        if department is not None:
            contact.department, changed = department.strip()[:100], [*changed, "department"]
        if is_primary is not None and is_primary != contact.is_primary:
            if is_primary:
                if contact.left_on is not None:
                    raise AccountError(
                        _("A contact who left cannot be the primary contact."), field="is_primary"
                    )
                others = Contact.objects.filter(account_id=contact.account_id, is_primary=True)
                if others.exclude(pk=contact.pk).exists():
                    raise _primary_taken(contact.account)
            contact.is_primary, changed = is_primary, [*changed, "is_primary"]
        if changed:
            try:
                with transaction.atomic():
                    contact.save(update_fields=changed)
            except IntegrityError as exc:
                raise _primary_taken(contact.account) from exc
        if roles is not None:
            contact.roles.set(list(roles))
    return contact


def contact_left(*, contact: Contact, user: Any, left_on: date | None = None) -> Contact:
    """The person no longer works at the account (kept, marked left; no longer primary)."""
    with transaction.atomic():
        contact = (
            Contact.objects.select_for_update()
            .select_related("account__customer", "person")
            .get(pk=contact.pk)
        )
        if contact.left_on is not None:
            return contact
        contact.left_on = left_on or timezone.localdate()
        contact.is_primary = False
        contact.save(update_fields=["left_on", "is_primary"])
        summary = _("%(name)s left “%(account)s”") % {
            "name": contact.person.display_name,
            "account": contact.account,
        }
        data = {
            "account": contact.account_id,
            "contact": contact.pk,
            "left_on": str(contact.left_on),
        }
        for customer in (contact.person, contact.account.customer):
            record_event(
                customer=customer, type="contact.left", summary=summary, actor=user, data=data
            )
    return contact
