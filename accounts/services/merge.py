"""When two customers are merged (``crm.services.merge_customers`` calls this inside its
transaction, both customers locked): the loser's account becomes part of the survivor's
(or simply moves), its contacts, relations and opportunities move; a person's contact rows
move, two rows of the same person at one account fold into one."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.models import (
    Account,
    AccountRelation,
    Contact,
    Opportunity,
    OpportunityContact,
)
from accounts.services.accounts import lock_hierarchy, would_cycle
from accounts.services.credit import move_credit_data

_FILLED = ("industry", "size_band", "province", "city", "address", "website", "owner_id")


def move_account_data(*, survivor: Any, loser: Any) -> int:
    """How many rows moved to the survivor (accounts, contacts, relations, opportunities)."""
    return _move_account(survivor, loser) + _move_positions(survivor, loser)


def _fold_contact(keep: Contact, drop: Contact) -> None:
    """``drop`` (the same person at the same account) folds into ``keep``: roles united,
    blanks filled, still working there if either row says so, primary kept once."""
    keep.roles.add(*drop.roles.all())
    for field in ("title", "department"):
        if not getattr(keep, field) and getattr(drop, field):
            setattr(keep, field, getattr(drop, field))
    if keep.left_on is None or drop.left_on is None:
        keep.left_on = None
    else:
        keep.left_on = max(keep.left_on, drop.left_on)
    primary = keep.is_primary or drop.is_primary
    for link in OpportunityContact.objects.filter(contact=drop):
        mine = OpportunityContact.objects.filter(
            contact=keep, opportunity_id=link.opportunity_id
        ).first()
        if mine is None:
            link.contact = keep
            link.save(update_fields=["contact"])
        else:
            mine.roles.add(*link.roles.all())
            link.delete()
    drop.delete()
    keep.is_primary = primary and keep.left_on is None
    keep.save(update_fields=["title", "department", "left_on", "is_primary"])


def _move_positions(survivor: Any, loser: Any) -> int:
    """The loser (a person) was a contact somewhere: the survivor is now."""
    moved = 0
    for row in Contact.objects.select_for_update().filter(person=loser).order_by("id"):
        keep = (
            Contact.objects.select_for_update()
            .filter(person=survivor, account_id=row.account_id)
            .first()
        )
        if keep is None:
            row.person = survivor
            row.save(update_fields=["person"])
        else:
            _fold_contact(keep, row)
        moved += 1
    return moved


def _move_account(survivor: Any, loser: Any) -> int:
    lost = Account.objects.select_for_update().filter(customer=loser).first()
    if lost is None:
        return 0
    kept = Account.objects.select_for_update().filter(customer=survivor).first()
    if kept is None:
        lost.customer = survivor
        lost.save(update_fields=["customer", "updated_at"])
        return 1
    lock_hierarchy()
    moved = 1
    # Fields: the survivor's win; its blanks are filled from the loser.
    changed = [f for f in _FILLED if not getattr(kept, f) and getattr(lost, f)]
    for field in changed:
        setattr(kept, field, getattr(lost, field))
    kept.business_units.add(*lost.business_units.all())
    # The hierarchy: the loser's subsidiaries hang under the survivor (one that is itself
    # above the survivor takes the loser's parent instead); the survivor takes the loser's
    # parent when it has none and that closes no loop.
    lost_parent = lost.parent_id if lost.parent_id != kept.pk else None
    if lost.parent_id is not None:
        lost.parent_id = None
        lost.save(update_fields=["parent"])
    if kept.parent_id == lost.pk:
        kept.parent_id = lost_parent
        Account.objects.filter(pk=kept.pk).update(parent=lost_parent)
    for sub in Account.objects.filter(parent=lost).exclude(pk=kept.pk):
        sub.parent_id = lost_parent if would_cycle(sub.pk, kept.pk) else kept.pk
        sub.save(update_fields=["parent"])
        moved += 1
    if kept.parent_id is None and lost_parent is not None and not would_cycle(kept.pk, lost_parent):
        kept.parent_id = lost_parent
        changed.append("parent_id")
    if changed:
        kept.save(update_fields=[*{f.removesuffix("_id") for f in changed}, "updated_at"])
    # Contacts: the same person at both folds into one; one primary at most.
    kept_primary = Contact.objects.filter(account=kept, is_primary=True).exists()
    kept_people = dict(Contact.objects.filter(account=kept).values_list("person_id", "id"))
    for row in Contact.objects.select_for_update().filter(account=lost).order_by("-is_primary"):
        if row.person_id in kept_people:
            _fold_contact(Contact.objects.get(pk=kept_people[row.person_id]), row)
            kept_primary = kept_primary or row.is_primary
        else:
            row.account = kept
            if row.is_primary and kept_primary:
                row.is_primary = False
            kept_primary = kept_primary or row.is_primary
            row.save(update_fields=["account", "is_primary"])
            kept_people[row.person_id] = row.pk
        moved += 1
    # Relations: repointed; one that would relate the account to itself or repeat one the
    # survivor has is dropped.
    for relation in AccountRelation.objects.filter(Q(from_account=lost) | Q(to_account=lost)):
        src = kept.pk if relation.from_account_id == lost.pk else relation.from_account_id
        dst = kept.pk if relation.to_account_id == lost.pk else relation.to_account_id
        duplicate = AccountRelation.objects.filter(
            from_account_id=src, to_account_id=dst, kind=relation.kind
        ).exists()
        if src == dst or duplicate:
            relation.delete()
            continue
        relation.from_account_id, relation.to_account_id = src, dst
        relation.save(update_fields=["from_account", "to_account"])
        moved += 1
    # Opportunities (their stage history and contacts go with them). Their unit, owner,
    # stage, currency and close month stay: the maintained ``OpportunityTotal`` rows too.
    moved += Opportunity.objects.filter(account=lost).update(account=kept)
    # Credit: evidence and history move; the survivor's profile is recomputed from all of it.
    moved += move_credit_data(kept=kept, lost=lost)
    lost.delete()
    return moved
