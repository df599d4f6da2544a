"""A segment's members as CSV/XLSX (``crm.exports``): the customer list's columns
(identities masked unless revealed, audited), for the members of the segment in the
filter ``segment`` (live: its rule now; frozen: its latest snapshot)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext_lazy as _

from crm import selectors
from crm.exports import Column, ExportSpec
from crm.exports_customers import customer_columns, customer_rows_for
from crm.models import Segment

SEGMENT_PERMISSION = "crm.view_segment"


def _segment(params: dict[str, str]) -> Segment | None:
    raw = params.get("segment", "")
    return Segment.objects.filter(pk=int(raw)).first() if raw.isdigit() else None


def segment_columns(reveal: bool) -> list[Column]:
    return customer_columns(reveal)


def count_members(user: Any, params: dict[str, str]) -> int:
    segment = _segment(params)
    return 0 if segment is None else selectors.segment_customers(segment).count()


def member_rows(user: Any, params: dict[str, str], reveal: bool) -> Iterator[list[dict[str, Any]]]:
    segment = _segment(params)
    if segment is None:
        return iter(())
    return customer_rows_for(user, selectors.segment_customers(segment), reveal)


SEGMENT_EXPORT = ExportSpec(
    list_key=selectors.SEGMENT_LIST_KEY,
    label=_("Segment members"),
    filename="segment",
    permission=SEGMENT_PERMISSION,
    columns=segment_columns,
    count=count_members,
    rows=member_rows,
)
