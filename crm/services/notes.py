"""Notes on a customer: write one, pin or unpin it. Notes move with a merge
(``merge_customers``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import NOTE_MAX_LENGTH, Customer, CustomerNote


class InvalidNote(DomainError):
    code = "invalid_note"
    status = 422


def add_note(*, customer: Customer, author: Any, text: str, pinned: bool = False) -> CustomerNote:
    """Write a note on a live customer. Text is trimmed; empty or longer than
    ``NOTE_MAX_LENGTH`` characters is refused, naming the field."""
    text = (text or "").strip()
    if not text:
        raise InvalidNote(_("Write the note first: it is empty."), field="text")
    if len(text) > NOTE_MAX_LENGTH:
        raise InvalidNote(
            _("A note holds at most %(max)d characters; this one has %(count)d.")
            % {"max": NOTE_MAX_LENGTH, "count": len(text)},
            field="text",
        )
    with transaction.atomic():
        # Locked: a merge (which locks both customers for update) waits, so the note never
        # lands on a customer merged meanwhile.
        live = Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk).first()
        if live is None or live.merged_into_id is not None:
            raise InvalidNote(_("This customer was merged into another; open that one."))
        now = timezone.now()
        return CustomerNote.objects.create(
            customer=live,
            author=author if getattr(author, "pk", None) else None,
            text=text,
            created_at=now,
            pinned_at=now if pinned else None,
        )


def pin_note(*, note: CustomerNote, pinned: bool) -> CustomerNote:
    """Pin a note above the timeline (the latest pinned first), or unpin it."""
    note.pinned_at = timezone.now() if pinned else None
    CustomerNote.objects.filter(pk=note.pk).update(pinned_at=note.pinned_at)
    return note
