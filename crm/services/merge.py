"""Merging two customers found to be one."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import (
    Consent,
    Customer,
    CustomerNote,
    CustomerTag,
    DuplicateCandidate,
    DuplicateStatus,
    Identity,
    Merge,
    TimelineEvent,
    Transaction,
)
from crm.registry import merge_handlers
from crm.services.customers import record_event

_COPIED_ATTRIBUTES = ("gender", "birthday", "region", "registered_name")
CREATED = "customer.created"


class MergeRefused(DomainError):
    code = "merge_refused"
    status = 409


def merge_customers(*, survivor: Customer, loser: Customer, actor: Any, reason: str) -> Merge:
    """Move everything of ``loser`` to ``survivor`` in one transaction; keep the loser as a
    tombstone that points to the survivor; record what moved."""
    reason = (reason or "").strip()
    if not reason:
        raise MergeRefused(_("Say why these two customers are one."), field="reason")
    if survivor.pk == loser.pk:
        raise MergeRefused(_("A customer cannot be merged into itself."))
    with transaction.atomic():
        locked = {
            c.pk: c
            for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, loser.pk])
        }
        if len(locked) != 2:
            raise MergeRefused(_("One of the two customers no longer exists."))
        survivor, loser = locked[survivor.pk], locked[loser.pk]
        for customer in (loser, survivor):
            if customer.is_tombstone:
                raise MergeRefused(
                    _("“%(name)s” was already merged into customer #%(id)d; merge that one.")
                    % {"name": customer.display_name, "id": customer.merged_into_id}
                )
        if survivor.kind != loser.kind:
            raise MergeRefused(_("A person and an organization cannot be merged."))

        summary: dict[str, int] = {
            "identities": Identity.objects.filter(customer=loser).update(customer=survivor),
            "transactions": Transaction.objects.filter(customer=loser).update(customer=survivor),
            "consents": Consent.objects.filter(customer=loser).update(customer=survivor),
        }
        already = CustomerTag.objects.filter(customer=survivor).values("tag_id")
        CustomerTag.objects.filter(customer=loser, tag_id__in=already).delete()
        summary["tags"] = CustomerTag.objects.filter(customer=loser).update(customer=survivor)
        for handler in merge_handlers():
            summary[handler.key] = handler.move(survivor=survivor, loser=loser)
        summary["notes"] = CustomerNote.objects.filter(customer=loser).update(customer=survivor)
        # The survivor's timeline shows one creation (its own) and the merge: the loser's
        # "created" event stays on the tombstone, copied into the merge event's data.
        loser_created = (
            TimelineEvent.objects.filter(customer=loser, type=CREATED)
            .order_by("occurred_at", "id")
            .values("id", "occurred_at", "summary", "business_unit_id")
            .first()
        )
        summary["timeline_events"] = (
            TimelineEvent.objects.filter(customer=loser)
            .exclude(type=CREATED)
            .update(customer=survivor)
        )
        summary["duplicate_candidates"] = _repoint_candidates(survivor, loser, actor)

        now = timezone.now()
        snapshot = {
            "display_name": loser.display_name,
            "kind": loser.kind,
            "gender": loser.gender,
            "birthday": loser.birthday.isoformat() if loser.birthday else None,
            "region": loser.region,
            "registered_name": loser.registered_name,
            "source": loser.source,
            "created_at": loser.created_at.isoformat(),
            "name_is_generated": loser.name_is_generated,
        }
        filled = [k for k in _COPIED_ATTRIBUTES if not getattr(survivor, k) and getattr(loser, k)]
        for key in filled:
            setattr(survivor, key, getattr(loser, key))
        if survivor.name_is_generated and not loser.name_is_generated:
            # The survivor was known only by an identity: it takes the loser's real name.
            survivor.display_name, survivor.name_is_generated = loser.display_name, False
            filled += ["display_name", "name_is_generated"]
        if filled:
            survivor.save(update_fields=[*filled, "updated_at"])
        # Earlier tombstones of the loser point straight to the survivor: no chains.
        Customer.objects.filter(merged_into=loser).update(merged_into=survivor)
        loser.merged_into = survivor
        loser.merged_at = now
        loser.save(update_fields=["merged_into", "merged_at", "updated_at"])
        merge = Merge.objects.create(
            survivor=survivor,
            loser=loser,
            actor=actor if getattr(actor, "pk", None) else None,
            reason=reason[:300],
            summary=summary,
            loser_snapshot=snapshot,
            created_at=now,
        )
        record_event(
            customer=survivor,
            type="customer.merged",
            summary=merge_summary(
                loser=loser.pk, loser_name=loser.shown_name, survivor=survivor.pk, reason=reason
            ),
            actor=actor,
            occurred_at=now,
            data={
                "merge": merge.pk,
                "loser": loser.pk,
                "loser_name": loser.display_name,
                "loser_name_is_generated": loser.name_is_generated,
                "survivor": survivor.pk,
                "reason": reason[:300],
                "moved": summary,
                "loser_created": (
                    {
                        "event": loser_created["id"],
                        "occurred_at": loser_created["occurred_at"].isoformat(),
                        "summary": loser_created["summary"],
                        "business_unit": loser_created["business_unit_id"],
                        "source": loser.source,
                    }
                    if loser_created
                    else None
                ),
            },
        )
    return merge


def merge_summary(*, loser: int, loser_name: str, survivor: int, reason: str) -> str:
    """The merge named by both customer numbers (two customers often share a name)."""
    return _("Customer #%(loser)d “%(name)s” merged into customer #%(survivor)d: %(reason)s") % {
        "loser": loser,
        "name": loser_name,
        "survivor": survivor,
        "reason": reason,
    }


def _repoint_candidates(survivor: Customer, loser: Customer, actor: Any) -> int:
    """The reviewed pair is marked merged; other open pairs of the loser now name the
    survivor (or close, when the survivor already has that pair)."""
    now = timezone.now()
    touching = DuplicateCandidate.objects.select_for_update().filter(
        Q(customer_a=loser) | Q(customer_b=loser)
    )
    moved = 0
    for candidate in touching:
        other = (
            candidate.customer_b_id
            if candidate.customer_a_id == loser.pk
            else (candidate.customer_a_id)
        )
        if other == survivor.pk:
            candidate.status = DuplicateStatus.MERGED
            candidate.reviewed_by = actor if getattr(actor, "pk", None) else None
            candidate.reviewed_at = now
            candidate.save(update_fields=["status", "reviewed_by", "reviewed_at"])
            continue
        a, b = sorted((survivor.pk, other))
        if DuplicateCandidate.objects.filter(customer_a_id=a, customer_b_id=b).exists():
            candidate.delete()  # the survivor already has that pair (open or decided)
            continue
        # A decided pair keeps its decision: "not the same" stays said for the survivor.
        candidate.customer_a_id, candidate.customer_b_id = a, b
        candidate.save(update_fields=["customer_a", "customer_b"])
        moved += 1
    return moved


def dismiss_candidate(*, candidate: DuplicateCandidate, actor: Any) -> DuplicateCandidate:
    """Staff decided the two are different customers; the pair is not proposed again."""
    with transaction.atomic():
        candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
        if candidate.status != DuplicateStatus.OPEN:
            raise MergeRefused(_("This pair has already been reviewed."))
        candidate.status = DuplicateStatus.DISMISSED
        candidate.reviewed_by = actor
        candidate.reviewed_at = timezone.now()
        candidate.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    return candidate
