"""Segments: saved rules with an owner, live or frozen (a snapshot of their members).

Freezing takes a snapshot in one ``INSERT … SELECT`` of the customers the rule matches at
that moment; a frozen segment's members stay those of its latest snapshot (a campaign
targets them as they were) until it is frozen again or made live."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import SEGMENT_NAME_MAX, Segment, SegmentMode, SegmentSnapshot
from crm.rules import matching_ids_sql, validate_rule


class InvalidSegment(DomainError):
    code = "invalid_segment"


class SegmentNameTaken(DomainError):
    code = "segment_name_taken"
    status = 409


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise InvalidSegment(_("Give the segment a name."), field="name")
    if len(cleaned) > SEGMENT_NAME_MAX:
        raise InvalidSegment(
            _("A name has at most %(max)d characters.") % {"max": SEGMENT_NAME_MAX},
            field="name",
        )
    return cleaned


def _check_name_free(name: str, *, exclude: int | None = None) -> None:
    taken = Segment.objects.filter(name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise SegmentNameTaken(
            _("A segment named “%(name)s” exists already.") % {"name": name}, field="name"
        )


def _save(segment: Segment, fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            segment.save(update_fields=fields)
    except IntegrityError as exc:  # a concurrent save took the name
        raise SegmentNameTaken(
            _("A segment named “%(name)s” exists already.") % {"name": segment.name},
            field="name",
        ) from exc


def create_segment(*, name: str, rule: Any, owner: Any, description: str = "") -> Segment:
    cleaned = _clean_name(name)
    normalized = validate_rule(rule)
    _check_name_free(cleaned)
    segment = Segment(
        name=cleaned,
        description=(description or "").strip()[:300],
        rule=normalized,
        owner=owner if getattr(owner, "pk", None) else None,
    )
    _save(segment)
    return segment


def update_segment(*, segment: Segment, name: str, rule: Any, description: str = "") -> Segment:
    """Change a segment's name, description and rule (a frozen one keeps its snapshot's
    members until it is frozen again)."""
    cleaned = _clean_name(name)
    normalized = validate_rule(rule)
    _check_name_free(cleaned, exclude=segment.pk)
    segment.name = cleaned
    segment.description = (description or "").strip()[:300]
    segment.rule = normalized
    segment.updated_at = timezone.now()
    _save(segment, ["name", "description", "rule", "updated_at"])
    return segment


def delete_segment(*, segment: Segment) -> None:
    """Delete a segment with its snapshots."""
    segment.delete()


def snapshot_segment(
    *, segment: Segment, actor: Any = None, now: datetime | None = None
) -> SegmentSnapshot:
    """Record the customers the rule matches now as a snapshot (one ``INSERT … SELECT``),
    leaving the segment's mode as it is (a campaign freezes its audience this way)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Segment.objects.select_for_update().get(pk=segment.pk)
        normalized = validate_rule(locked.rule)
        snapshot = SegmentSnapshot.objects.create(
            segment=locked,
            rule=normalized,
            taken_at=now,
            taken_by=actor if getattr(actor, "pk", None) else None,
        )
        sql, params = matching_ids_sql(normalized, now=now, validated=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO crm_segmentmember (snapshot_id, customer_id) "  # noqa: S608
                f"SELECT %s, m.id FROM ({sql}) m",  # the compiled rule: values are parameters
                [snapshot.pk, *params],
            )
            count = cursor.rowcount
        SegmentSnapshot.objects.filter(pk=snapshot.pk).update(member_count=count)
        snapshot.member_count = count
    return snapshot


def freeze_segment(
    *, segment: Segment, actor: Any = None, now: datetime | None = None
) -> SegmentSnapshot:
    """Snapshot the customers the rule matches now and make the segment frozen on them."""
    now = now or timezone.now()
    with transaction.atomic():
        snapshot = snapshot_segment(segment=segment, actor=actor, now=now)
        Segment.objects.filter(pk=segment.pk).update(mode=SegmentMode.FROZEN, updated_at=now)
    segment.mode = SegmentMode.FROZEN
    return snapshot


def make_segment_live(*, segment: Segment) -> Segment:
    """Back to live: evaluated whenever used (its snapshots stay as history)."""
    Segment.objects.filter(pk=segment.pk).update(mode=SegmentMode.LIVE, updated_at=timezone.now())
    segment.mode = SegmentMode.LIVE
    return segment
